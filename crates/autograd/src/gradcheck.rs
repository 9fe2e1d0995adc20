//! Public gradient checks: analytic gradients against central differences, in f64, with
//! PyTorch's tolerances (eps 1e-6, atol 1e-5, rtol 1e-3).

use crate::backward::Backward;
use crate::error::{Error, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_graph::{Graph, Tensor, Var};

/// The step of the central differences.
pub const EPS: f64 = 1e-6;
/// Absolute tolerance.
pub const ATOL: f64 = 1e-5;
/// Relative tolerance.
pub const RTOL: f64 = 1e-3;

/// Checks every entry of the Jacobian of `f` at `inputs`: the analytic one from backward
/// passes against central differences. Each input becomes a requires-grad leaf.
///
/// On a mismatch the error names the op, the input, the element and both values.
///
/// ```
/// use tapegrad_autograd::gradcheck;
/// use tapegrad_graph::Tensor;
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], [3])?;
/// gradcheck(|_, v| v[0].tanh() * v[0], &[x])?;
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn gradcheck<Fun>(f: Fun, inputs: &[Tensor<f64>]) -> Result<()>
where
    Fun: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    let (op, output_shape) = {
        let g = Graph::new();
        let vars: Vec<_> = inputs.iter().map(|t| g.var(t.clone())).collect();
        let y = f(&g, &vars);
        (y.op_name().to_string(), y.shape())
    };
    let outputs = output_shape.numel();
    let analytic: Vec<Vec<Tensor<f64>>> = (0..outputs)
        .map(|j| {
            let g = Graph::new();
            let vars: Vec<_> = inputs.iter().map(|t| g.var(t.clone())).collect();
            let y = f(&g, &vars);
            let mut seed = vec![0.0; outputs];
            seed[j] = 1.0;
            if !y.requires_grad() {
                return Ok(vars.iter().map(|v| Tensor::zeros(v.shape())).collect());
            }
            let grads = y.try_backward_with(Tensor::from_vec(seed, output_shape.clone())?)?;
            Ok(vars.iter().map(|v| grads.wrt(*v)).collect())
        })
        .collect::<Result<_>>()?;
    let evaluate = |perturbed: &[Tensor<f64>]| -> Vec<f64> {
        let g = Graph::new();
        let vars: Vec<_> = perturbed.iter().map(|t| g.var(t.clone())).collect();
        f(&g, &vars).value().to_vec()
    };
    for (input, tensor) in inputs.iter().enumerate() {
        for element in 0..tensor.numel() {
            let mut shifted = inputs.to_vec();
            let base = tensor.data()[element];
            shifted[input].data_mut()[element] = base + EPS;
            let plus = evaluate(&shifted);
            shifted[input].data_mut()[element] = base - EPS;
            let minus = evaluate(&shifted);
            for output in 0..outputs {
                let numerical = (plus[output] - minus[output]) / (2.0 * EPS);
                let analytic = analytic[output][input].data()[element];
                let within = (analytic - numerical).abs() <= ATOL + RTOL * numerical.abs();
                if !within {
                    return Err(Error::GradcheckFailed {
                        op,
                        input,
                        element: multi_index(element, tensor.dims()),
                        output,
                        analytic,
                        numerical,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Checks second derivatives: [`gradcheck`] applied to the recorded gradient of
/// `⟨f(x), v⟩` for a fixed random `v`, so the derivative rules themselves are differentiated.
///
/// ```
/// use tapegrad_autograd::gradgradcheck;
/// use tapegrad_graph::Tensor;
/// gradgradcheck(|_, v| v[0].sin() * v[1], &[Tensor::scalar(0.4), Tensor::scalar(-0.7)])?;
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn gradgradcheck<Fun>(f: Fun, inputs: &[Tensor<f64>]) -> Result<()>
where
    Fun: for<'g> Fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>,
{
    gradcheck(
        |g, xs| {
            let y = f(g, xs);
            let mut rng = StdRng::seed_from_u64(0x5eed);
            let weights = g.constant(Tensor::uniform(y.shape(), 0.5, 1.5, &mut rng));
            let grads = crate::grad::grad((y * weights).sum(), xs);
            let flat: Vec<_> = grads.iter().map(|d| d.flatten()).collect();
            Var::concat(&flat, 0)
        },
        inputs,
    )
}

fn multi_index(mut flat: usize, dims: &[usize]) -> String {
    let mut index = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        index[d] = flat % dims[d];
        flat /= dims[d];
    }
    format!("{index:?}")
}
