//! Checkpointing: a segment recorded as one node and run again in backward gives the same
//! gradients as recording it whole (bit for bit), of first and second order, with Dropout's
//! mask repeated.

use tapegrad::autograd::{checkpoint, gradcheck, gradgradcheck, hvp};
use tapegrad::nn::layers::Checkpoint;
use tapegrad::prelude::*;

fn block<'s>(v: &[Var<'s, f64>]) -> Var<'s, f64> {
    v[0].matmul(v[1]).tanh().matmul(v[2]).sigmoid()
}

fn inputs(g: &Graph) -> [Var<'_, f64>; 3] {
    let mut rng = StdRng::seed_from_u64(7);
    [
        g.var(Tensor::randn([4, 3], 0.0, 1.0, &mut rng)),
        g.var(Tensor::randn([3, 5], 0.0, 1.0, &mut rng)),
        g.var(Tensor::randn([5, 2], 0.0, 1.0, &mut rng)),
    ]
}

#[test]
fn a_checkpointed_segment_is_one_node_with_the_same_value_and_gradients() {
    let plain = Graph::new();
    let xs = inputs(&plain);
    let y = (block(&xs) * block(&xs)).sum();
    let expected: Vec<Vec<f64>> = {
        let grads = y.backward();
        xs.iter().map(|&x| grads.wrt(x).to_vec()).collect()
    };

    let g = Graph::new();
    let vs = inputs(&g);
    let before = g.len();
    let inner = checkpoint(&g, &vs, block);
    assert_eq!(g.len(), before + 1);
    assert_eq!(inner.op_name(), "checkpoint");
    let z = (inner * inner).sum();
    assert_eq!(z.item(), y.item());
    let grads = z.backward();
    let found: Vec<Vec<f64>> = vs.iter().map(|&v| grads.wrt(v).to_vec()).collect();
    assert_eq!(found, expected);
    assert_eq!((g.len(), plain.len()), (6, 13)); // 3 leaves + checkpoint, mul, sum vs 4 nodes per block
}

#[test]
fn checkpoints_pass_the_gradient_checks_of_first_and_second_order() {
    let mut rng = StdRng::seed_from_u64(3);
    let ts = [
        Tensor::randn([2, 3], 0.0, 1.0, &mut rng),
        Tensor::randn([3, 4], 0.0, 1.0, &mut rng),
        Tensor::randn([4, 2], 0.0, 1.0, &mut rng),
    ];
    gradcheck(|g, xs| checkpoint(g, xs, block).sum(), &ts).unwrap();
    gradgradcheck(|g, xs| checkpoint(g, xs, block).sum(), &ts).unwrap();

    // Hessian-vector products through a checkpoint equal those through the plain segment.
    let hv = |check: bool| {
        let g = Graph::new();
        let xs = inputs(&g);
        let y = if check { checkpoint(&g, &xs, block) } else { block(&xs) }.sum();
        let v: Vec<Var<'_, f64>> = xs.iter().map(|x| g.constant(Tensor::ones(x.shape()))).collect();
        hvp(y, &xs, &v).unwrap().iter().map(|h| h.value().to_vec()).collect::<Vec<_>>()
    };
    let (a, b) = (hv(true), hv(false));
    for (a, b) in a.iter().flatten().zip(b.iter().flatten()) {
        assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
    }
}

/// A block with dropout inside, its weights from `seed`, its dropout seeded with 99.
fn model(store: &mut ParamStore, seed: u64) -> Sequential<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Sequential::new()
        .push(Linear::new(store, "0", 6, 16, true, &mut rng).unwrap())
        .push(Activation::Tanh)
        .push(Dropout::new(0.5, 99).unwrap())
        .push(Linear::new(store, "3", 16, 3, true, &mut rng).unwrap())
}

fn gradients(store: &ParamStore, model: &dyn Forward<f64>) -> (f64, Vec<Vec<f64>>) {
    let g = Graph::new();
    let params = store.bind(&g);
    let x = g.constant(Tensor::randn([10, 6], 0.0, 1.0, &mut StdRng::seed_from_u64(5)));
    let loss = model.forward(&params, x).square().mean();
    let grads = loss.backward();
    let ids = model.parameters();
    (loss.item(), ids.iter().map(|&id| grads.wrt(params.var(id)).to_vec()).collect())
}

#[test]
fn dropout_inside_a_checkpoint_draws_the_same_mask_when_run_again() {
    let mut plain_store = ParamStore::new();
    let plain = model(&mut plain_store, 1);
    let mut store = ParamStore::new();
    let mut checked = Checkpoint::new(model(&mut store, 1));
    assert_eq!(Module::<f64>::parameters(&checked).len(), 4);
    let (plain_loss, plain_grads) = gradients(&plain_store, &plain);
    let (loss, grads) = gradients(&store, &checked);
    assert_eq!(loss, plain_loss);
    assert_eq!(grads, plain_grads, "the recomputed segment drew another mask");

    // Evaluation mode reaches the module inside: no dropout, another loss, and runs repeat.
    Module::<f64>::set_training(&mut checked, false);
    let (a, _) = gradients(&store, &checked);
    let (b, _) = gradients(&store, &checked);
    assert_ne!(a, loss);
    assert_eq!(a, b);
}
