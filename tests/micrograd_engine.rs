//! micrograd's own engine tests (test/test_engine.py), written with tapegrad's API. The expected
//! values are the ones PyTorch gives for the same expressions, as printed in micrograd's tests.

use tapegrad::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn sanity_check() {
    let g = Graph::new();
    let x = g.scalar(-4.0);
    let z = 2.0 * x + 2.0 + x;
    let q = z.relu() + z * x;
    let h = (z * z).relu();
    let y = h + q + q * x;
    let grads = y.backward();
    assert!(close(y.item(), -20.0), "y = {}", y.item());
    assert!(close(grads.wrt(x).item(), 46.0), "dy/dx = {}", grads.wrt(x).item());
}

#[test]
fn more_ops() {
    let g = Graph::new();
    let a = g.scalar(-4.0);
    let b = g.scalar(2.0);
    let mut c = a + b;
    let mut d = a * b + b.powf(3.0);
    c = c + c + 1.0;
    c = c + 1.0 + c + (-a);
    d = d + d * 2.0 + (b + a).relu();
    d = d + 3.0 * d + (b - a).relu();
    let e = c - d;
    let f = e.powf(2.0);
    let mut out = f / 2.0;
    out = out + 10.0 / f;
    let grads = out.backward();
    assert!(close(out.item(), 24.70408163265306), "g = {}", out.item());
    assert!(close(grads.wrt(a).item(), 138.83381924198252), "dg/da = {}", grads.wrt(a).item());
    assert!(close(grads.wrt(b).item(), 645.5772594752186), "dg/db = {}", grads.wrt(b).item());
}

#[test]
fn design_example_runs() {
    let g = Graph::new();
    let a = g.scalar(-4.0);
    let b = g.scalar(2.0);
    let c = a * b + b.powf(3.0) - 1.0 / a;
    let y = c.relu() + c.tanh() + c.exp().log() + c.sigmoid();
    let cv: f64 = -8.0 + 8.0 + 0.25;
    let expected = cv.max(0.0) + cv.tanh() + cv + 1.0 / (1.0 + (-cv).exp());
    assert!(close(y.item(), expected));
    let grads = y.backward();
    let sig = 1.0 / (1.0 + (-cv).exp());
    let dy_dc = 1.0 + (1.0 - cv.tanh().powi(2)) + 1.0 + sig * (1.0 - sig);
    // dc/da = b + 1/a² ; dc/db = a + 3b²
    assert!(close(grads.wrt(a).item(), dy_dc * (2.0 + 1.0 / 16.0)));
    assert!(close(grads.wrt(b).item(), dy_dc * (-4.0 + 12.0)));
    // calling backward twice gives the same answer: nothing accumulates in the graph
    assert_eq!(y.backward().wrt(a).item(), grads.wrt(a).item());
}
