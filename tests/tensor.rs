//! Tensor construction, access, printing and comparison.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::graph::op::Op;
use tapegrad::graph::SavedStats;
use tapegrad::prelude::*;

#[test]
fn constructors_and_access() {
    let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]).unwrap();
    assert_eq!(t.dims(), &[2, 3]);
    assert_eq!(t.numel(), 6);
    assert_eq!(t[[1, 2]], 6.0);
    assert_eq!(t.get(&[0, 1]), Some(2.0));
    assert_eq!(t.get(&[2, 0]), None);
    assert_eq!(Tensor::<f64>::zeros([2]).to_vec(), vec![0.0, 0.0]);
    assert_eq!(Tensor::<f32>::ones([1, 2]).to_vec(), vec![1.0, 1.0]);
    assert_eq!(Tensor::full([2], 7.0).to_vec(), vec![7.0, 7.0]);
    assert_eq!(Tensor::scalar(3.5).item(), 3.5);
    assert_eq!(Tensor::arange(1.0, 4.0, 1.0).unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
}

#[test]
fn seeded_random_tensors_are_reproducible() {
    let a = Tensor::<f64>::randn([1000], 1.0, 2.0, &mut StdRng::seed_from_u64(1));
    let b = Tensor::<f64>::randn([1000], 1.0, 2.0, &mut StdRng::seed_from_u64(1));
    assert_eq!(a, b);
    let mean = a.data().iter().sum::<f64>() / 1000.0;
    let var = a.data().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 999.0;
    assert!((mean - 1.0).abs() < 0.2 && (var.sqrt() - 2.0).abs() < 0.2, "mean {mean} std {}", var.sqrt());
    let u = Tensor::<f64>::uniform([1000], -1.0, 1.0, &mut StdRng::seed_from_u64(2));
    assert!(u.data().iter().all(|v| (-1.0..1.0).contains(v)));
}

#[test]
fn display_looks_like_pytorch() {
    let t = Tensor::from_vec(vec![1.0, 2.5, -3.0, 4.0], [2, 2]).unwrap();
    assert_eq!(format!("{t}"), "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]])");
    assert_eq!(format!("{:.1}", Tensor::scalar(2.0)), "tensor(2.0)");
    assert_eq!(format!("{:.2}", Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap()), "tensor([1.00, 2.00])");
}

#[test]
fn allclose_and_copy_on_write() {
    let a = Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap();
    let mut b = a.clone();
    assert!(a.shares_storage(&b));
    b.data_mut()[0] += 1e-9;
    assert!(!a.shares_storage(&b));
    assert!(a.allclose(&b, 1e-5, 1e-8));
    assert!(!a.allclose(&Tensor::from_vec(vec![1.0, 2.1], [2]).unwrap(), 1e-5, 1e-8));
    assert_eq!(a.to_vec(), vec![1.0, 2.0]);
}

#[test]
fn binding_a_weight_does_not_copy_it() {
    let w = Tensor::<f64>::ones([256, 256]);
    let g = Graph::new();
    let v = g.var(w.clone());
    assert!(v.value().shares_storage(&w));
}

#[test]
fn cast_between_element_types_and_take_the_data() {
    let t = Tensor::from_vec(vec![1.5f64, -2.25], [2]).unwrap();
    let single: Tensor<f32> = t.cast();
    assert_eq!(single.to_vec(), vec![1.5f32, -2.25]);
    assert_eq!(single.cast::<f64>(), t);
    assert_eq!(t.into_vec(), vec![1.5, -2.25]);
}

#[test]
fn large_tensors_print_summarised_small_ones_in_full() {
    let big = Tensor::<f64>::from_vec((0..10_000).map(f64::from).collect(), [100, 100]).unwrap();
    let text = format!("{big:.0}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], "tensor([[   0,    1,    2, ...,   97,   98,   99],");
    assert_eq!(lines[3], "        ...,");
    assert_eq!(lines[6], "        [9900, 9901, 9902, ..., 9997, 9998, 9999]])");
    let small = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
    assert_eq!(format!("{small:.1}"), "tensor([[1.0, 2.0],\n        [3.0, 4.0]])");
    let mut store = tapegrad::nn::ParamStore::<f32>::new();
    store.add("layers.0.weight", Tensor::zeros([2, 3])).unwrap();
    assert_eq!(format!("{store:?}"), "ParamStore { layers.0.weight [2, 3] } (1 parameters, 6 elements)");
}

#[test]
fn a_dropped_large_buffer_is_reused_and_can_be_released() {
    use tapegrad::graph::release_pooled_buffers;
    release_pooled_buffers();
    let a = Tensor::<f32>::full([128, 128], 1.0);
    let first = a.data().as_ptr();
    drop(a);
    // The next kernel output of that size gets the same buffer, with its own elements.
    let b = Tensor::<f32>::full([128, 128], 2.0);
    assert_eq!(b.data().as_ptr(), first);
    assert!(b.data().iter().all(|&v| v == 2.0));
    let doubled = b.map(|v| v * 2.0);
    drop(b);
    let c = doubled.zip_with(&doubled, "add", |x, y| x + y).unwrap();
    assert_eq!(c.data().as_ptr(), first, "zip_with reuses the buffer map's input left");
    assert!(c.data().iter().all(|&v| v == 8.0));
    drop((c, doubled));
    assert_eq!(release_pooled_buffers(), 2 * 128 * 128 * 4);
    assert_eq!(release_pooled_buffers(), 0);
    // Small buffers are the allocator's business: none is kept.
    drop(Tensor::<f64>::zeros([8]));
    assert_eq!(release_pooled_buffers(), 0);
}

#[test]
fn products_split_over_threads_match_a_plain_triple_loop() {
    use tapegrad::graph::{num_threads, set_num_threads};
    let rng = &mut StdRng::seed_from_u64(7);
    // Large enough to be split: one product by rows, then a batch of products by entries.
    let cases: [(&[usize], &[usize]); 2] = [(&[300, 200], &[200, 100]), (&[8, 64, 96], &[96, 80])];
    let before = num_threads();
    for (a_dims, b_dims) in cases {
        let a = Tensor::<f64>::uniform(a_dims, -1.0, 1.0, rng);
        let b = Tensor::<f64>::uniform(b_dims, -1.0, 1.0, rng);
        let (k, n) = (b_dims[0], b_dims[1]);
        let rows = a.numel() / k;
        let expected: Vec<f64> =
            (0..rows * n).map(|i| (0..k).map(|j| a.data()[i / n * k + j] * b.data()[j * n + i % n]).sum()).collect();
        for threads in [1, 2, 3] {
            set_num_threads(threads);
            let c = a.matmul(&b).unwrap();
            let worst = c.data().iter().zip(&expected).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-12, "{threads} threads, {a_dims:?}·{b_dims:?}: off by {worst}");
        }
    }
    set_num_threads(before);
}

#[test]
fn f32_products_give_the_same_bits_on_any_number_of_threads() {
    use tapegrad::graph::{num_threads, set_num_threads};
    let rng = &mut StdRng::seed_from_u64(9);
    let before = num_threads();
    // W3's thin products, and a thin one large enough to be split over threads (on one thread
    // the panel kernel takes it, on two the GEMM).
    for (m, k, n) in [(1, 100, 16), (2, 100, 16), (100, 2, 16), (100, 16, 16), (2, 512, 256), (1, 1024, 256)] {
        let a = Tensor::<f32>::uniform([m, k], -1.0, 1.0, rng);
        let b = Tensor::<f32>::uniform([k, n], -1.0, 1.0, rng);
        let bits = |threads: usize| {
            set_num_threads(threads);
            a.matmul(&b).unwrap().data().iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(bits(1), bits(2), "{m}×{k}×{n}");
    }
    set_num_threads(before);
}

#[test]
fn summed_products_equal_the_sum_of_each_product() {
    use tapegrad::graph::{num_threads, set_num_threads};
    let rng = &mut StdRng::seed_from_u64(8);
    let before = num_threads();
    // [3, 2] batches of small (the plain kernel) and large (the GEMM, split by rows; wider
    // than tall, computed transposed) products, each operand transposed or not, summed over
    // either batch dim or both.
    for (m, k, n) in [(3, 4, 5), (70, 40, 60), (40, 30, 70)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a_dims = if ta { [3, 2, k, m] } else { [3, 2, m, k] };
            let b_dims = if tb { [3, 2, n, k] } else { [3, 2, k, n] };
            let a = Tensor::<f64>::uniform(a_dims, -1.0, 1.0, rng);
            let b = Tensor::<f64>::uniform(b_dims, -1.0, 1.0, rng);
            let each = a.matmul_t(ta, &b, tb).unwrap(); // [3, 2, m, n]
            for (summed, axes) in [(&[0usize][..], &[0isize][..]), (&[1], &[1]), (&[0, 1], &[0, 1])] {
                let expected = each.sum_axes(axes, false).unwrap();
                for threads in [1, 2] {
                    set_num_threads(threads);
                    let got = a.matmul_t_summed(ta, &b, tb, summed).unwrap();
                    assert_eq!(got.dims(), expected.dims());
                    let worst = got.data().iter().zip(expected.data()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                    assert!(worst < 1e-12, "{m}×{k}×{n} {ta} {tb} over {summed:?}, {threads} threads: off by {worst}");
                }
            }
        }
    }
    set_num_threads(before);
    let a = Tensor::<f64>::ones([2, 3, 4]);
    assert!(a.matmul_t_summed(false, &Tensor::ones([3, 4, 5]), false, &[0]).is_err(), "batch dims differ");
    assert!(a.matmul_t_summed(false, &Tensor::ones([2, 4, 5]), false, &[1]).is_err(), "not a batch dim");
}

#[test]
fn products_and_sums_added_in_place_give_the_bits_of_adding_them() {
    let mut rng = StdRng::seed_from_u64(7);
    let bits = |t: &Tensor<f32>| t.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    // A layer's weight gradients over a batch (xᵀ·g, g·Wᵀ), narrow and one-column ones, a
    // depth of 1, and one on the register blocks (n not a multiple of 8).
    for (m, k, n) in [(16, 100, 16), (2, 100, 16), (16, 100, 1), (100, 16, 16), (7, 1, 8), (5, 9, 3)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor::<f32>::randn(if ta { [k, m] } else { [m, k] }, 0.0, 1.0, &mut rng);
            let b = Tensor::<f32>::randn(if tb { [n, k] } else { [k, n] }, 0.0, 1.0, &mut rng);
            let start = Tensor::<f32>::randn([m, n], 0.0, 1.0, &mut rng);
            let want = start.zip_with(&a.matmul_t(ta, &b, tb).unwrap(), "add", |x, y| x + y).unwrap();
            let mut got = Tensor::from_vec(start.to_vec(), start.shape().clone()).unwrap();
            assert!(a.matmul_t_add_to(ta, &b, tb, &mut got).unwrap(), "{m}×{k}×{n} {ta} {tb} added");
            assert_eq!(bits(&got), bits(&want), "{m}×{k}×{n} {ta} {tb}");
        }
    }
    let (a, b) = (Tensor::<f32>::ones([4, 3]), Tensor::<f32>::ones([3, 8]));
    let mut shared = Tensor::<f32>::zeros([4, 8]);
    let keep = shared.clone();
    assert!(!a.matmul_t_add_to(false, &b, false, &mut shared).unwrap(), "shared elements are not written");
    assert_eq!(keep.to_vec(), vec![0.0; 32]);
    assert!(!a.matmul_t_add_to(false, &b, false, &mut Tensor::zeros([8, 4])).unwrap(), "another shape");
    // Wider than the panel kernel takes on any number of threads: the GEMM's.
    let (wide, square) = (Tensor::<f32>::ones([64, 264]), Tensor::<f32>::ones([64, 64]));
    assert!(!square.matmul_t_add_to(false, &wide, false, &mut Tensor::zeros([64, 264])).unwrap(), "for the GEMM");
    assert!(a.matmul_t_add_to(false, &a, false, &mut Tensor::zeros([4, 3])).is_err(), "3 and 4 do not multiply");

    // A bias's gradient over a batch, a [1, n] one, a total, and a middle axis.
    for (from, to) in
        [(vec![100, 16], vec![16]), (vec![100, 16], vec![1, 16]), (vec![7, 5], vec![]), (vec![3, 9, 4], vec![3, 1, 4])]
    {
        let g = Tensor::<f32>::randn(from.as_slice(), 0.0, 1.0, &mut rng);
        let start = Tensor::<f32>::randn(to.as_slice(), 0.0, 1.0, &mut rng);
        let want = start.zip_with(&g.sum_to(start.shape()).unwrap(), "add", |x, y| x + y).unwrap();
        let mut got = Tensor::from_vec(start.to_vec(), start.shape().clone()).unwrap();
        assert!(g.sum_to_add_to(&mut got).unwrap(), "{from:?} → {to:?} added");
        assert_eq!(bits(&got), bits(&want), "{from:?} → {to:?}");
    }
    let g = Tensor::<f32>::ones([10, 100]);
    assert!(!g.sum_to_add_to(&mut Tensor::zeros([100])).unwrap(), "more sums than the stack holds");
    assert!(!g.sum_to_add_to(&mut Tensor::zeros([10, 100])).unwrap(), "nothing to sum");
    assert!(g.sum_to_add_to(&mut Tensor::zeros([3])).is_err(), "3 does not broadcast to [10, 100]");
}

/// PyTorch's `F.unfold`, element by element: column `(c·kh + i)·kw + j`, position `oi·ow + oj`
/// reads `x[n, c, oi·s₀ + i·d₀ − p₀, oj·s₁ + j·d₁ − p₁]`, or 0 in the padding.
fn unfold_by_definition(x: &Tensor<f64>, w: &Window) -> Vec<f64> {
    let [n, c, h, wd] = *x.dims() else { panic!("4-d input") };
    let [oh, ow] = w.output_size([h, wd]).unwrap();
    let [kh, kw] = w.kernel;
    let mut out = Vec::new();
    for b in 0..n {
        for ch in 0..c {
            for i in 0..kh {
                for j in 0..kw {
                    for oi in 0..oh {
                        for oj in 0..ow {
                            let y = (oi * w.stride[0] + i * w.dilation[0]) as isize - w.padding[0] as isize;
                            let z = (oj * w.stride[1] + j * w.dilation[1]) as isize - w.padding[1] as isize;
                            let inside = (0..h as isize).contains(&y) && (0..wd as isize).contains(&z);
                            out.push(if inside { x[[b, ch, y as usize, z as usize]] } else { 0.0 });
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn unfold_matches_its_definition_and_fold_is_its_adjoint() {
    let mut rng = StdRng::seed_from_u64(3);
    let windows = [
        // "same" convolutions, whose taps are shifted copies of the image (the fast path)
        Window::new([3, 3]).padding([1, 1]),
        Window::new([5, 5]).padding([2, 2]),
        Window::new([3, 3]).padding([2, 2]).dilation([2, 2]),
        Window::new([1, 1]),
        Window::new([3, 1]).padding([1, 0]),
        // and the rest
        Window::new([3, 3]).padding([1, 1]).stride([2, 1]),
        Window::new([3, 3]),
        Window::new([2, 2]).stride([2, 2]),
        Window::new([3, 3]).padding([1, 2]).stride([1, 2]),
        Window::new([2, 3]).padding([3, 3]),
        Window::new([1, 1]).padding([2, 2]),
    ];
    let before = tapegrad::graph::num_threads();
    // A batch of 2, and one of 64 on two threads (large enough to be split between them).
    for (k, w) in windows.iter().enumerate() {
        for (batch, size, threads) in [(2, [8, 8], 1), (2, [4, 5], 1), (2, [1, 3], 1), (64, [8, 8], 2)] {
            tapegrad::graph::set_num_threads(threads);
            let Ok(out) = w.output_size(size) else { continue };
            let x = Tensor::<f64>::randn([batch, 3, size[0], size[1]], 0.0, 1.0, &mut rng);
            let cols = x.unfold(w).unwrap();
            assert_eq!(cols.to_vec(), unfold_by_definition(&x, w), "window {k} over {size:?}");
            let y = Tensor::<f64>::randn(cols.dims(), 0.0, 1.0, &mut rng);
            let folded = y.fold(w, size).unwrap();
            let lhs: f64 = cols.data().iter().zip(y.data()).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.data().iter().zip(folded.data()).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9 * (1.0 + lhs.abs()), "window {k} over {size:?} ({out:?}): {lhs} vs {rhs}");
        }
    }
    tapegrad::graph::set_num_threads(before);
}

#[test]
fn long_runs_are_summed_in_sixteen_chains_joined_pairwise() {
    // A whole tensor, a single column or a row: element k goes to chain k mod 16, and the
    // chains are joined in halves (0 + 8, …, then 0 + 4, …), so the sum waits on n/16 additions.
    let by_definition = |values: &[f32]| {
        if values.len() < 32 {
            return values.iter().fold(0.0, |s, &v| s + v);
        }
        let mut chains = [0.0f32; 16];
        values.iter().enumerate().for_each(|(k, &v)| chains[k % 16] += v);
        for width in [8, 4, 2, 1] {
            for l in 0..width {
                chains[l] += chains[l + width];
            }
        }
        chains[0]
    };
    for n in [1, 31, 32, 33, 100, 1000, 4099] {
        let values: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32 * 0.013 - 0.6).collect();
        let want = by_definition(&values);
        let column = Tensor::from_vec(values.clone(), [n, 1]).unwrap();
        assert_eq!(column.sum_to(&Shape::from([1])).unwrap().to_vec(), vec![want], "[{n}, 1] → [1]");
        assert_eq!(column.sum_axes(&[], false).unwrap().item(), want, "[{n}, 1] summed whole");
        let rows = Tensor::from_vec([values.clone(), values.clone()].concat(), [2, n]).unwrap();
        assert_eq!(rows.sum_axes(&[1], false).unwrap().to_vec(), vec![want, want], "[2, {n}] summed along rows");
        let exact: f64 = values.iter().map(|&v| v as f64).sum();
        assert!((want as f64 - exact).abs() <= 1e-6 * n as f64, "{n} elements: {want} against {exact}");
    }
}

/// Column `j` of `group` rows of `inner` (the element of row `k` at `at(k)`) summed as the
/// reductions over leading or middle axes do: columns in the blocks of 16 of rows up to 128
/// wide, over 8 rows or more, in four chains, row k into chain k mod 4, joined as
/// (c₀ + c₁) + (c₂ + c₃); the other columns top to bottom.
fn column_sum_by_definition(group: usize, inner: usize, j: usize, at: impl Fn(usize) -> f32) -> f32 {
    let in_register_block = inner <= 128 && j < inner / 16 * 16;
    if !in_register_block || group < 8 {
        return (0..group).fold(0.0, |s, k| s + at(k));
    }
    let mut chains = [0.0f32; 4];
    (0..group).for_each(|k| chains[k % 4] += at(k));
    (chains[0] + chains[1]) + (chains[2] + chains[3])
}

#[test]
fn reductions_over_middle_axes_fold_each_column_as_defined() {
    // [outer, group, inner] reductions (a pool's max over [N, C, taps, L]) fold block by
    // block: each sum must be its group's elements summed as `column_sum_by_definition` says,
    // each max its group's largest element, NaN taking over.
    for (outer, group, inner) in [(3, 4, 16), (2, 7, 40), (5, 3, 2), (1, 2, 33), (2, 9, 16), (3, 13, 35), (2, 8, 200)] {
        let mut values: Vec<f32> = (0..outer * group * inner).map(|i| ((i * 37) % 101) as f32 * 0.013 - 0.6).collect();
        values[inner + 1] = f32::NAN;
        let x = Tensor::from_vec(values.clone(), [outer, group, inner, 1]).unwrap();
        let at = |o: usize, k: usize, j: usize| values[(o * group + k) * inner + j];
        let each = |fold: &dyn Fn(usize, usize) -> f32| -> Vec<f32> {
            (0..outer).flat_map(|o| (0..inner).map(move |j| (o, j))).map(|(o, j)| fold(o, j)).collect()
        };
        let sums = each(&|o, j| column_sum_by_definition(group, inner, j, |k| at(o, k, j)));
        let max = |a: f32, b: f32| if b > a || b.is_nan() { b } else { a };
        let maxima = each(&|o, j| (0..group).fold(f32::NEG_INFINITY, |m, k| max(m, at(o, k, j))));
        let same = |a: Vec<f32>, b: &[f32]| {
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan())
        };
        let shape = format!("[{outer}, {group}, {inner}, 1]");
        assert!(same(x.sum_axes(&[1], false).unwrap().to_vec(), &sums), "{shape} summed");
        assert!(same(x.max_axes(&[1], false).unwrap().to_vec(), &maxima), "{shape} max");
        assert!(x.max_axes(&[1], false).unwrap().to_vec()[1].is_nan(), "{shape}: NaN is the max");
    }
}

#[test]
fn sums_over_leading_axes_add_each_column_as_defined() {
    // Narrow rows are summed in register blocks of 16 columns (in four chains of rows up to 128
    // columns) and the rest one by one, wide ones row by row: each column must be summed as
    // `column_sum_by_definition` says.
    for (rows, cols) in
        [(7, 40), (100, 16), (100, 2), (3, 300), (5, 17), (8, 16), (101, 33), (50, 128), (50, 144), (50, 300)]
    {
        let values: Vec<f32> = (0..rows * cols).map(|i| ((i * 37) % 101) as f32 * 0.013 - 0.6).collect();
        let x = Tensor::from_vec(values.clone(), [rows, cols]).unwrap();
        let want: Vec<f32> =
            (0..cols).map(|j| column_sum_by_definition(rows, cols, j, |i| values[i * cols + j])).collect();
        assert_eq!(x.sum_to(&Shape::from([cols])).unwrap().to_vec(), want, "[{rows}, {cols}] → [{cols}]");
        assert_eq!(x.sum_axes(&[0], false).unwrap().to_vec(), want, "[{rows}, {cols}] summed over rows");
        let exact = |j: usize| (0..rows).map(|i| values[i * cols + j] as f64).sum::<f64>();
        assert!((0..cols).all(|j| (want[j] as f64 - exact(j)).abs() <= 1e-6 * rows as f64), "[{rows}, {cols}]");
        // A sum of squares squares each element once, chains joined by adding.
        let graph = Graph::<f32>::default();
        let squares = graph.constant(x.clone()).sum_squares_axis(0, false).value().to_vec();
        let exact = |j: usize| (0..rows).map(|i| (values[i * cols + j] as f64).powi(2)).sum::<f64>();
        assert!((0..cols).all(|j| (squares[j] as f64 - exact(j)).abs() <= 1e-6 * exact(j)), "[{rows}, {cols}] squares");
    }
}

#[test]
fn permuting_moves_each_element_to_its_permuted_index() {
    // Innermost runs of 16, 32 and 64 (attention heads) are copied in blocks of 16; runs of
    // 3, 80 and strided ones otherwise.
    for (dims, perm) in [
        ([2, 5, 4, 16], [0, 2, 1, 3]),
        ([3, 2, 2, 32], [2, 0, 1, 3]),
        ([2, 3, 2, 64], [1, 0, 2, 3]),
        ([2, 4, 3, 3], [0, 2, 1, 3]),
        ([2, 2, 3, 80], [2, 1, 0, 3]),
        ([2, 3, 4, 16], [0, 1, 3, 2]),
        ([3, 4, 5, 16], [3, 0, 2, 1]),
    ] {
        let n: usize = dims.iter().product();
        let x = Tensor::from_vec((0..n).map(|v| v as f32).collect(), dims).unwrap();
        let y = x.permute(&perm).unwrap();
        let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        assert_eq!(y.dims(), &out_dims[..]);
        let mut index = [0usize; 4];
        for (flat, &v) in y.data().iter().enumerate() {
            let mut rest = flat;
            for d in (0..4).rev() {
                index[perm[d]] = rest % out_dims[d];
                rest /= out_dims[d];
            }
            let source = ((index[0] * dims[1] + index[1]) * dims[2] + index[2]) * dims[3] + index[3];
            assert_eq!(v, source as f32, "{dims:?} permuted by {perm:?}, element {flat}");
        }
    }
}

#[test]
fn the_gradient_of_a_max_or_min_is_shared_among_its_ties() {
    // Values with ties (every third is a repeat) and a NaN, over each set of axes of a
    // [3, 4, 5] tensor, against the definition: a group's hits share its gradient equally.
    let mut values: Vec<f64> = (0..60).map(|i| ((i * 7) % 11 / 3) as f64 - 1.0).collect();
    values[17] = f64::NAN;
    let x = Tensor::from_vec(values.clone(), [3, 4, 5]).unwrap();
    for axes in [vec![], vec![0], vec![1], vec![2], vec![0, 2], vec![1, 2], vec![-1]] {
        for max in [true, false] {
            let extremum = if max { x.max_axes(&axes, true) } else { x.min_axes(&axes, true) }.unwrap();
            let g = Tensor::from_vec((0..extremum.numel()).map(|k| k as f64 - 1.5).collect(), extremum.dims()).unwrap();
            let got = x.extremum_grad(&extremum, &g, &axes).unwrap();
            // The group of each element: its index with the reduced axes zeroed.
            let resolved: Vec<usize> =
                if axes.is_empty() { vec![0, 1, 2] } else { axes.iter().map(|&a| a.rem_euclid(3) as usize).collect() };
            let group = |k: usize| {
                let mut at = [k / 20, k / 5 % 4, k % 5];
                resolved.iter().for_each(|&a| at[a] = 0);
                let kept = extremum.dims();
                (at[0] * kept[1] + at[1]) * kept[2] + at[2]
            };
            let hit = |k: usize| {
                let m = extremum.data()[group(k)];
                values[k] == m || (values[k].is_nan() && m.is_nan())
            };
            let hits = |o: usize| (0..60).filter(|&k| group(k) == o && hit(k)).count() as f64;
            let want: Vec<f64> =
                (0..60).map(|k| g.data()[group(k)] * if hit(k) { 1.0 / hits(group(k)) } else { 0.0 }).collect();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got.to_vec()), bits(&want), "{} over {axes:?}", if max { "max" } else { "min" });
        }
    }
    let wrong = Tensor::<f64>::zeros([3]);
    let error = x.extremum_grad(&wrong, &wrong, &[1]).unwrap_err().to_string();
    assert!(error.contains("reduced shape [3, 1, 5]"), "{error}");
}

#[test]
fn adding_into_a_slice_is_adding_the_padded_part() {
    let base = Tensor::from_vec((0..24).map(|v| v as f64 * 0.5 - 3.0).collect(), [2, 3, 4]).unwrap();
    for (axis, start, len) in [(0, 1, 1), (1, 0, 2), (1, 1, 2), (-1, 3, 1), (-1, 0, 4)] {
        let mut dims = base.dims().to_vec();
        let resolved = if axis < 0 { 3 + axis } else { axis } as usize;
        let after = dims[resolved] - start - len;
        dims[resolved] = len;
        let n: usize = dims.iter().product();
        let part = Tensor::from_vec((0..n).map(|v| v as f64 + 0.25).collect(), dims).unwrap();
        let mut added = base.clone();
        added.add_into_slice(axis, start, &part).unwrap();
        let padded = base.zip_with(&part.pad(axis, start, after).unwrap(), "add", |a, b| a + b).unwrap();
        assert_eq!(added.data(), padded.data(), "axis {axis}, from {start}");
    }
    let mut sums = base.clone();
    let err = sums.add_into_slice(1, 2, &Tensor::zeros([2, 2, 4])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add_into_slice: shapes [2, 3, 4] and [2, 2, 4] are incompatible; the second must fit in the first from index 2 along axis 1"
    );
    assert!(sums.add_into_slice(1, 0, &Tensor::zeros([2, 2, 3])).is_err(), "other dims must agree");
    assert!(sums.add_into_slice(3, 0, &Tensor::zeros([2, 3, 4])).is_err(), "no axis 3");
    assert_eq!(sums.data(), base.data(), "a refused addition changes nothing");
}

#[test]
fn batch_norm_grads_reuse_the_forward_statistics_only_for_their_own_input() {
    let mut rng = StdRng::seed_from_u64(11);
    let x = Tensor::<f32>::randn([6, 3, 4, 4], 2.0, 3.0, &mut rng);
    let other = Tensor::<f32>::randn([6, 3, 4, 4], -1.0, 0.5, &mut rng);
    let (w, b) = (Tensor::randn([3], 1.0, 0.5, &mut rng), Tensor::randn([3], 0.0, 1.0, &mut rng));
    let g = Tensor::randn([6, 3, 4, 4], 0.0, 1.0, &mut rng);
    let recomputed = |x: &Tensor<f32>| x.batch_norm_grads(&w, &g, 1e-5, [true; 3]).unwrap();
    let saved = SavedStats::default();
    let (y, _) = x.batch_norm_saving(&w, &b, 1e-5, &saved).unwrap();
    assert_eq!(y, x.batch_norm(&w, &b, 1e-5).unwrap().0);
    assert!(saved.holds_stats_of(&x) && saved.holds_stats_of(&x.clone()));

    // Another input, and a copy of x's values in a buffer of its own: computed again, and
    // the statistics stay for x.
    let copy = Tensor::from_vec(x.to_vec(), x.shape().clone()).unwrap();
    for input in [&other, &copy] {
        assert!(!saved.holds_stats_of(input));
        assert_eq!(input.batch_norm_grads_saved(&w, &g, 1e-5, [true; 3], &saved).unwrap(), recomputed(input));
        assert!(saved.holds_stats_of(&x));
    }
    // x itself: the kept statistics, taken out, the same gradients bit for bit.
    assert_eq!(x.batch_norm_grads_saved(&w, &g, 1e-5, [true; 3], &saved).unwrap(), recomputed(&x));
    assert!(!saved.holds_stats_of(&x), "taken by the backward");

    // Writing to x (an optimizer's step) copies it away from the kept statistics.
    let mut updated = x.clone();
    x.batch_norm_saving(&w, &b, 1e-5, &saved).unwrap();
    updated.data_mut()[0] += 1.0;
    assert!(!saved.holds_stats_of(&updated) && saved.holds_stats_of(&x));
    assert_eq!(updated.batch_norm_grads_saved(&w, &g, 1e-5, [true; 3], &saved).unwrap(), recomputed(&updated));
}

#[test]
fn a_recorded_batch_norm_differentiates_with_its_forward_statistics_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(12);
    let xt = Tensor::<f32>::randn([8, 4, 3, 3], 0.5, 2.0, &mut rng);
    let (wt, bt) = (Tensor::randn([4], 1.0, 0.5, &mut rng), Tensor::randn([4], 0.0, 1.0, &mut rng));
    let u = Tensor::randn([8, 4, 3, 3], 0.0, 1.0, &mut rng);
    let g = Graph::<f32>::default();
    let (x, w, b) = (g.var(xt.clone()), g.var(wt.clone()), g.var(bt));
    let (y, _) = x.batch_norm(w, b, 1e-5);
    let kept = || match g.tape().op(y.id()) {
        Op::BatchNorm(args) => args.saved.holds_stats_of(&xt),
        op => panic!("recorded as {op:?}"),
    };
    assert!(kept(), "the forward keeps x's statistics");
    let grads = (y * g.constant(u.clone())).sum().backward();
    assert!(!kept(), "the backward took them");
    let [dx, dw, db] = xt.batch_norm_grads(&wt, &u, 1e-5, [true; 3]).unwrap();
    assert_eq!(Some(grads.wrt(x)), dx);
    assert_eq!(Some(grads.wrt(w)), dw);
    assert_eq!(Some(grads.wrt(b)), db);
}

#[test]
fn a_tensor_s_transcendental_functions_match_the_scalar_ones_bit_for_bit() {
    // A tensor's `exp` (and the rest) run the op table's SIMD loop, a scalar's its own call:
    // the same polynomial, rounded the same way.
    use tapegrad::graph::Algebra;
    let x = Tensor::<f32>::from_vec((0..1000).map(|i| i as f32 * 0.013 - 6.5).collect(), [10, 100]).unwrap();
    let positive = x.map(|v| v.abs() + 0.1);
    type Pair = (&'static str, fn(&Tensor<f32>) -> Tensor<f32>, fn(&f32) -> f32);
    let functions: [Pair; 6] = [
        ("exp", Algebra::exp, Algebra::exp),
        ("ln", Algebra::ln, Algebra::ln),
        ("sin", Algebra::sin, Algebra::sin),
        ("cos", Algebra::cos, Algebra::cos),
        ("sigmoid", Algebra::sigmoid, Algebra::sigmoid),
        ("erf", Algebra::erf, Algebra::erf),
    ];
    for (name, of_tensor, of_scalar) in functions {
        let input = if name == "ln" { &positive } else { &x };
        let got = of_tensor(input);
        assert_eq!(got.shape(), input.shape(), "{name}");
        for (y, v) in got.data().iter().zip(input.data()) {
            assert_eq!(y.to_bits(), of_scalar(v).to_bits(), "{name}({v})");
        }
    }
}

#[test]
fn a_column_broadcasts_along_each_row_on_either_side() {
    // One value per row ([.., r, 1] against [.., r, w]) takes its own loop; a non-commutative
    // op checks that the operands keep their sides.
    for dims in [&[5, 3][..], &[100, 16], &[2, 3, 7], &[4, 1], &[3, 0], &[0, 3], &[2, 0, 3]] {
        let n: usize = dims.iter().product();
        let x = Tensor::<f32>::from_vec((0..n).map(|i| i as f32 * 0.5 - 3.0).collect(), dims).unwrap();
        let mut column_dims = dims.to_vec();
        *column_dims.last_mut().unwrap() = 1;
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let column =
            Tensor::<f32>::from_vec((0..rows).map(|r| r as f32 * 10.0 + 1.0).collect(), &column_dims[..]).unwrap();
        let width = *dims.last().unwrap();
        let at = |i: usize| column.data()[i / width];
        let after = x.zip_with(&column, "sub", |a, b| a - b).unwrap();
        let before = column.zip_with(&x, "sub", |a, b| a - b).unwrap();
        assert_eq!(after.dims(), dims);
        assert_eq!(before.dims(), dims);
        for (i, &v) in x.data().iter().enumerate() {
            assert_eq!(after.data()[i], v - at(i), "{dims:?} at {i}");
            assert_eq!(before.data()[i], at(i) - v, "{dims:?} at {i}");
        }
    }
}
