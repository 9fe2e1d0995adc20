//! Sliding-window ops: unfold and fold (the primitives), and the convolutions and poolings
//! built on them.

use crate::error::{expect_op, Error, Result};
use crate::float::Float;
use crate::op::Op;
use crate::tensor::Tensor;
use crate::var::Var;
use crate::window::{ConvOptions, Window};

impl<'g, F: Float> Var<'g, F> {
    /// The window's patches of an `[N, C, H, W]` input as `[N, C·kh·kw, L]` columns (see
    /// [`Tensor::unfold`]); padding reads as zeros.
    #[track_caller]
    pub fn unfold(self, window: &Window) -> Var<'g, F> {
        expect_op(self.try_unfold(window))
    }
    /// [`Var::unfold`], or an error naming a shape that is not `[N, C, H, W]` or a window that
    /// does not fit.
    #[track_caller]
    pub fn try_unfold(self, window: &Window) -> Result<Var<'g, F>> {
        self.record_unary(Op::Unfold(self.id(), Box::new(*window)), |t| t.unfold(window))
    }
    /// `[N, C·kh·kw, L]` columns added back into an `[N, C, H, W]` image of spatial `size`,
    /// where overlapping taps add up (see [`Tensor::fold`]).
    #[track_caller]
    pub fn fold(self, window: &Window, size: [usize; 2]) -> Var<'g, F> {
        expect_op(self.try_fold(window, size))
    }
    /// [`Var::fold`], or an error naming the shape the columns should have.
    #[track_caller]
    pub fn try_fold(self, window: &Window, size: [usize; 2]) -> Result<Var<'g, F>> {
        self.record_unary(Op::Fold(self.id(), Box::new(*window)), |t| t.fold(window, size))
    }

    /// 2-d convolution (cross-correlation, as `torch.nn.functional.conv2d`) of an
    /// `[N, C, H, W]` input with an `[O, C/groups, kh, kw]` weight and an optional `[O]` bias:
    /// `[N, O, oh, ow]`. Recorded as unfold, a matrix product and a reshape, so it is
    /// differentiable to any order.
    ///
    /// ```
    /// use tapegrad_graph::{ConvOptions, Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.constant(Tensor::from_vec((1..=16).map(f64::from).collect(), [1, 1, 4, 4])?);
    /// let w = g.var(Tensor::ones([1, 1, 2, 2]));
    /// let y = x.conv2d(w, None, ConvOptions::default().stride([2, 2]));
    /// assert_eq!(y.value().to_vec(), vec![14.0, 22.0, 46.0, 54.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn conv2d(self, weight: Var<'g, F>, bias: Option<Var<'g, F>>, options: ConvOptions<2>) -> Var<'g, F> {
        expect_op(self.try_conv2d(weight, bias, options))
    }
    /// [`Var::conv2d`], or an error naming the mismatched shapes or settings.
    #[track_caller]
    pub fn try_conv2d(
        self,
        weight: Var<'g, F>,
        bias: Option<Var<'g, F>>,
        options: ConvOptions<2>,
    ) -> Result<Var<'g, F>> {
        self.same_graph(weight, "conv2d")?;
        let (xs, ws) = (self.shape(), weight.shape());
        let mismatch = |hint: String| Error::ShapeMismatch { op: "conv2d", lhs: xs.clone(), rhs: ws.clone(), hint };
        let (n, c, _) = Window::image("conv2d", &xs)?;
        let [o, per_group, kh, kw] = *ws.dims() else {
            return Err(mismatch("; the weight must be [out, in / groups, kh, kw]".into()));
        };
        let groups = options.groups;
        if groups == 0 || c % groups != 0 || o % groups != 0 {
            return Err(Error::InvalidArgument {
                op: "conv2d",
                message: format!("{groups} groups must divide both the {c} input and the {o} output channels"),
            });
        }
        if per_group.checked_mul(groups) != Some(c) {
            return Err(mismatch(format!(
                "; {c} input channels in {groups} groups need a weight of [{o}, {}, kh, kw]",
                c / groups
            )));
        }
        let window =
            Window { kernel: [kh, kw], stride: options.stride, padding: options.padding, dilation: options.dilation };
        let cols = self.try_unfold(&window)?;
        let out = window.output_size([xs.dims()[2], xs.dims()[3]])?;
        // The unfold above succeeded, so these products fit (they are dims of its result).
        let (rows, positions) = (per_group * kh * kw, out[0] * out[1]);
        // Each example's columns [G, rows, L] times the filters [G, O/G, rows]: the product
        // comes out as [N, G, O/G, L], already in NCHW order.
        let cols = cols.try_reshape([n, groups, rows, positions])?;
        let filters = weight.try_reshape([groups, o / groups, rows])?;
        let y = filters.try_matmul(cols)?.try_reshape([n, o, out[0], out[1]])?;
        match bias {
            None => Ok(y),
            Some(b) => {
                if b.shape().dims() != [o] {
                    return Err(Error::ShapeMismatch {
                        op: "conv2d",
                        lhs: ws,
                        rhs: b.shape(),
                        hint: format!("; the bias must be [{o}], one per output channel"),
                    });
                }
                y.try_add(b.try_reshape([1, o, 1, 1])?)
            }
        }
    }

    /// 1-d convolution of an `[N, C, L]` input with an `[O, C/groups, k]` weight and an
    /// optional `[O]` bias: `[N, O, l]` (`torch.nn.functional.conv1d`).
    ///
    /// ```
    /// use tapegrad_graph::{ConvOptions, Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [1, 1, 4])?);
    /// let w = g.var(Tensor::from_vec(vec![1.0, -1.0], [1, 1, 2])?);
    /// assert_eq!(x.conv1d(w, None, ConvOptions::default()).value().to_vec(), vec![-1.0; 3]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn conv1d(self, weight: Var<'g, F>, bias: Option<Var<'g, F>>, options: ConvOptions<1>) -> Var<'g, F> {
        expect_op(self.try_conv1d(weight, bias, options))
    }
    /// [`Var::conv1d`], or an error naming the mismatched shapes or settings.
    #[track_caller]
    pub fn try_conv1d(
        self,
        weight: Var<'g, F>,
        bias: Option<Var<'g, F>>,
        options: ConvOptions<1>,
    ) -> Result<Var<'g, F>> {
        let (xs, ws) = (self.shape(), weight.shape());
        let (&[n, c, l], &[o, per_group, k]) = (xs.dims(), ws.dims()) else {
            return Err(Error::ShapeMismatch {
                op: "conv1d",
                lhs: xs,
                rhs: ws,
                hint: "; the input must be [N, C, L] and the weight [out, in / groups, k]".into(),
            });
        };
        let planar = ConvOptions {
            stride: [1, options.stride[0]],
            padding: [0, options.padding[0]],
            dilation: [1, options.dilation[0]],
            groups: options.groups,
        };
        let y = self.try_reshape([n, c, 1, l])?.try_conv2d(weight.try_reshape([o, per_group, 1, k])?, bias, planar)?;
        let length = y.shape().dims()[3];
        y.try_reshape([n, o, length])
    }

    /// The largest element of each window over an `[N, C, H, W]` input: `[N, C, oh, ow]`
    /// (`torch.nn.functional.max_pool2d`; padding never wins). The gradient goes to the
    /// window's largest element, shared among ties.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor, Window};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec((1..=16).map(f64::from).collect(), [1, 1, 4, 4])?);
    /// assert_eq!(x.max_pool2d(&Window::pool([2, 2])).value().to_vec(), vec![6.0, 8.0, 14.0, 16.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn max_pool2d(self, window: &Window) -> Var<'g, F> {
        expect_op(self.try_max_pool2d(window))
    }
    /// [`Var::max_pool2d`], or an error naming a bad shape or window (padding may be at most
    /// half the kernel, as in PyTorch).
    #[track_caller]
    pub fn try_max_pool2d(self, window: &Window) -> Result<Var<'g, F>> {
        let (windows, image) = self.pool_windows("max_pool2d", window)?;
        let windows = if window.padding == [0, 0] {
            windows
        } else {
            // Which taps fall inside the image: the same for every example, so one is made.
            let ones = Tensor::try_full([1, image.c, image.size[0], image.size[1]], F::ONE)?;
            let mut dims = windows.shape().dims().to_vec();
            dims[0] = 1;
            let inside = self.graph().constant(ones.unfold(window)?.reshape(dims)?);
            Var::try_where_cond(inside.try_gt(F::ZERO)?, windows, F::NEG_INFINITY)?
        };
        windows.try_max_axis(2, false)?.try_reshape(image.pooled())
    }

    /// The mean of each window over an `[N, C, H, W]` input: `[N, C, oh, ow]`, padding counted
    /// as zeros (`torch.nn.functional.avg_pool2d` with its default `count_include_pad`).
    #[track_caller]
    pub fn avg_pool2d(self, window: &Window) -> Var<'g, F> {
        expect_op(self.try_avg_pool2d(window))
    }
    /// [`Var::avg_pool2d`], or an error naming a bad shape or window.
    #[track_caller]
    pub fn try_avg_pool2d(self, window: &Window) -> Result<Var<'g, F>> {
        let (windows, image) = self.pool_windows("avg_pool2d", window)?;
        windows.try_mean_axis(2, false)?.try_reshape(image.pooled())
    }

    /// The windows of a pooling as `[N, C, taps, L]`, and the image's sizes.
    fn pool_windows(self, op: &'static str, window: &Window) -> Result<(Var<'g, F>, PoolSizes)> {
        let (n, c, size) = Window::image(op, &self.shape())?;
        for d in 0..2 {
            if window.padding[d] > window.kernel[d] / 2 {
                return Err(Error::InvalidArgument {
                    op,
                    message: format!(
                        "padding {:?} must be at most half the kernel {:?}",
                        window.padding, window.kernel
                    ),
                });
            }
        }
        let cols = self.try_unfold(window)?;
        let out = window.output_size(size)?;
        let windows = cols.try_reshape([n, c, window.taps(), out[0] * out[1]])?;
        Ok((windows, PoolSizes { n, c, size, out }))
    }
}

/// A pooling's input and output sizes.
struct PoolSizes {
    n: usize,
    c: usize,
    size: [usize; 2],
    out: [usize; 2],
}

impl PoolSizes {
    /// The pooled `[N, C, oh, ow]` shape.
    fn pooled(&self) -> [usize; 4] {
        [self.n, self.c, self.out[0], self.out[1]]
    }
}
