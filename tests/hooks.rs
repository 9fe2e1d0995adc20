//! Gradient hooks on Vars (read, replace, record ops while running) and post-accumulate hooks
//! on parameters.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tapegrad::autograd::Error;
use tapegrad::prelude::*;

#[test]
fn a_hook_sees_the_whole_gradient_once_and_can_replace_it() {
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap());
    let h = x * 3.0;
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    h.register_hook(move |_, grad| {
        log.borrow_mut().push(grad.to_vec());
        None
    });
    h.register_hook(|_, grad| Some(grad.map(|v| v * 0.5)));
    let y = (h * h).sum() + h.sum(); // two uses: the hook runs once, on their sum
    let grads = y.backward();
    assert_eq!(*seen.borrow(), vec![vec![2.0 * 3.0 + 1.0, 2.0 * 6.0 + 1.0]]);
    assert_eq!(grads.wrt(h).to_vec(), vec![3.5, 6.5]);
    assert_eq!(grads.wrt(x).to_vec(), vec![10.5, 19.5]);
}

#[test]
fn a_hook_may_record_ops_while_it_runs() {
    let g = Graph::new();
    let x = g.scalar(2.0);
    let h = x.exp();
    h.register_hook(|graph, grad| {
        let doubled = graph.constant(grad.clone()) * 2.0; // records on the same graph
        Some(doubled.value())
    });
    let grads = (h * 1.0).backward();
    assert!((grads.wrt(x).item() - 2.0 * 2f64.exp()).abs() < 1e-12);
}

#[test]
fn a_replacement_of_another_shape_is_an_error_and_clear_drops_hooks() {
    let mut g = Graph::new();
    {
        let x = g.var(Tensor::ones([3]));
        let h = x.sin();
        h.register_hook(|_, _| Some(Tensor::ones([2])));
        let err = h.sum().try_backward().unwrap_err();
        assert!(matches!(err, Error::HookShape { .. }), "{err}");
        assert!(err.to_string().ends_with("it returned shape [2], but the gradient has shape [3]"));
    }
    g.clear();
    assert!(!g.has_hooks());
    let x = g.scalar(1.0);
    assert_eq!((x * 4.0).backward().wrt(x).item(), 4.0);
}

#[test]
fn post_accumulate_hooks_run_after_each_accumulation_that_reaches_the_parameter() {
    let mut store = ParamStore::<f64>::new();
    let used = store.add("used", Tensor::scalar(1.0)).unwrap();
    let unused = store.add("unused", Tensor::ones([2])).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    for id in [used, unused] {
        let calls = calls.clone();
        store
            .register_post_accumulate_hook(id, move |p| {
                calls.fetch_add(1, Ordering::Relaxed);
                assert!(p.grad.is_some());
            })
            .unwrap();
    }
    for _ in 0..3 {
        let g = Graph::new();
        let bound = store.bind(&g);
        store.accumulate(&bound, &(bound.var(used) * 2.0).backward());
    }
    assert_eq!(calls.load(Ordering::Relaxed), 3);
    assert_eq!(store[used].grad.as_ref().unwrap().item(), 6.0);
    let other = ParamStore::<f64>::new().add("x", Tensor::scalar(0.0)).unwrap();
    assert!(store.register_post_accumulate_hook(other, |_| {}).is_err());
}
