//! Derivative rules of the sliding-window ops: unfold and fold are each other's adjoint.

use tapegrad_graph::op::Window;
use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// unfold ← fold the columns' gradient back into the input's image.
pub fn unfold<F: Float, A: TensorAlgebra<F>>(window: &Window, x: &A, g: &A) -> A {
    let dims = x.shape();
    let dims = dims.dims();
    g.fold(window, [dims[2], dims[3]])
}

/// fold ← unfold the image's gradient.
pub fn fold<F: Float, A: TensorAlgebra<F>>(window: &Window, g: &A) -> A {
    g.unfold(window)
}
