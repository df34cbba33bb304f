//! The LSTM recurrence as one burn operation (a backend extension), with its
//! own backward pass, so a whole sequence costs one node in the autodiff
//! graph instead of a dozen per step.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};

use super::lstm_kernels::{LstmCache, LstmKernels};

/// The LSTM recurrence, routed to the backend of its inputs.
#[backend_extension(Flex, Cube: cfg(any(feature = "cuda", feature = "wgpu")), Autodiff)]
pub trait LstmOps: Backend {
    /// Hidden states `[batch, time, hidden]` of an LSTM whose input
    /// projections are `xproj` `[batch, time, 4·hidden]` and whose recurrent
    /// weights are `w_hh` `[hidden, 4·hidden]`; zero initial state.
    fn lstm_recurrence(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl LstmOps for Flex {
    fn lstm_recurrence(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        <Flex as LstmKernels>::lstm_forward(xproj, w_hh)
    }
}

#[cfg(any(feature = "cuda", feature = "wgpu"))]
impl LstmKernels for burn::backend::Cube {}

#[cfg(any(feature = "cuda", feature = "wgpu"))]
impl LstmOps for burn::backend::Cube {
    fn lstm_recurrence(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as LstmKernels>::lstm_forward(xproj, w_hh)
    }
}

#[derive(Debug)]
struct LstmBackward;

impl<B: LstmKernels> Backward<B, 2> for LstmBackward {
    type State = (LstmCache<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad_h = grads.consume::<B>(&ops.node);
        let (cache, w_hh) = ops.state;
        let (d_xproj, d_w) = B::lstm_backward(cache, w_hh, grad_h);
        let [xproj_node, w_node] = ops.parents;
        if let Some(node) = xproj_node {
            grads.register::<B>(node.id, d_xproj);
        }
        if let Some(node) = w_node {
            grads.register::<B>(node.id, d_w);
        }
    }
}

impl<B: LstmKernels, C: CheckpointStrategy> LstmOps for Autodiff<B, C> {
    fn lstm_recurrence(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = LstmBackward.prepare::<C>([xproj.node(), w_hh.node()]).compute_bound().stateful();
        let (x, w) = (xproj.into_primitive(), w_hh.into_primitive());
        match prep {
            OpsKind::Tracked(prep) => {
                let cache = B::lstm_forward_train(x, w.clone());
                let h = cache.h.clone();
                prep.finish((cache, w), h)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::lstm_forward(x, w)),
        }
    }
}

/// Hidden states `[batch, time, hidden]` of an LSTM over input projections
/// `xproj` `[batch, time, 4·hidden]` with recurrent weights `w_hh`
/// `[hidden, 4·hidden]` (gates i, f, g, o), starting from zero state.
pub fn lstm_recurrence(xproj: Tensor<3>, w_hh: Tensor<2>) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as LstmOps>::lstm_recurrence(xproj.into_dispatch(), w_hh.into_dispatch()))
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::sigmoid;

    use super::*;

    /// The same LSTM from stock burn tensor operations, differentiated by burn.
    fn reference(xproj: Tensor<3>, w: Tensor<2>) -> Tensor<3> {
        let [b, t, g] = xproj.dims();
        let h = g / 4;
        let device = xproj.device();
        let mut hp = Tensor::<2>::zeros([b, h], &device);
        let mut cp = Tensor::<2>::zeros([b, h], &device);
        let mut out = Vec::new();
        for s in 0..t {
            let z = xproj.clone().slice([0..b, s..s + 1, 0..g]).reshape([b, g]) + hp.matmul(w.clone());
            let i = sigmoid(z.clone().slice([0..b, 0..h]));
            let f = sigmoid(z.clone().slice([0..b, h..2 * h]));
            let c_hat = z.clone().slice([0..b, 2 * h..3 * h]).tanh();
            let o = sigmoid(z.slice([0..b, 3 * h..4 * h]));
            cp = f * cp + i * c_hat;
            hp = o * cp.clone().tanh();
            out.push(hp.clone().reshape([b, 1, h]));
        }
        Tensor::cat(out, 1)
    }

    fn max_diff(a: Tensor<3>, b: Tensor<3>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    fn max_diff2(a: Tensor<2>, b: Tensor<2>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    fn check(batch: usize, time: usize, hidden: usize) {
        let device = Device::flex().autodiff();
        device.seed(7);
        let x = Tensor::<3>::random([batch, time, 4 * hidden], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<2>::random([hidden, 4 * hidden], Distribution::Normal(0.0, 0.3), &device);
        let mix = Tensor::<3>::random([batch, time, hidden], Distribution::Normal(0.0, 1.0), &device);

        let (xa, wa) = (x.clone().require_grad(), w.clone().require_grad());
        let fused = lstm_recurrence(xa.clone(), wa.clone());
        let grads = (fused.clone() * mix.clone()).sum().backward();
        let (gx, gw) = (xa.grad(&grads).expect("x grad"), wa.grad(&grads).expect("w grad"));

        let (xb, wb) = (x.require_grad(), w.require_grad());
        let want = reference(xb.clone(), wb.clone());
        let grads = (want.clone() * mix).sum().backward();
        let (rx, rw) = (xb.grad(&grads).expect("x grad"), wb.grad(&grads).expect("w grad"));

        assert!(max_diff(fused.inner(), want.inner()) < 1e-5, "forward {batch}x{time}x{hidden}");
        assert!(max_diff(gx, rx) < 1e-4, "d xproj {batch}x{time}x{hidden}");
        assert!(max_diff2(gw, rw) < 1e-4, "d w_hh {batch}x{time}x{hidden}");
    }

    #[test]
    fn fused_lstm_matches_burn_autodiff() {
        check(1, 1, 3);
        check(3, 5, 4);
        check(17, 29, 50);
    }

    #[test]
    fn generic_kernels_match_flex_kernels() {
        use crate::ops::lstm_kernels::{generic_backward, generic_forward};
        use crate::ops::testing::{close, flex, values};
        let (b, time, h) = (5, 7, 6);
        let x = flex(values(b * time * 4 * h, 1), vec![b, time, 4 * h]);
        let w = flex(values(h * 4 * h, 2).iter().map(|v| v * 0.4).collect(), vec![h, 4 * h]);
        let gh = flex(values(b * time * h, 3), vec![b, time, h]);
        let fast = <Flex as LstmKernels>::lstm_forward_train(x.clone(), w.clone());
        let slow = generic_forward::<Flex>(x.clone(), w.clone());
        close(fast.h.clone(), slow.h.clone(), "h");
        close(fast.c.clone(), slow.c.clone(), "c");
        close(fast.acts.clone(), slow.acts.clone(), "acts");
        close(<Flex as LstmKernels>::lstm_forward(x, w.clone()), slow.h.clone(), "inference h");
        let (fx, fw) = <Flex as LstmKernels>::lstm_backward(fast, w.clone(), gh.clone());
        let (sx, sw) = generic_backward::<Flex>(slow, w, gh);
        close(fx, sx, "d xproj");
        close(fw, sw, "d w_hh");
    }
}
