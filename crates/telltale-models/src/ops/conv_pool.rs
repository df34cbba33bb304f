//! The convolution block (1-D convolution, bias, ReLU, max-pooling) as one
//! burn operation with its own backward pass.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};

use super::conv_pool_kernels::{ConvPoolCache, ConvPoolKernels};

/// The convolution block, routed to the backend of its inputs.
#[backend_extension(Flex, Cube: cfg(feature = "cuda"), Autodiff)]
pub trait ConvPoolOps: Backend {
    /// `relu(maxpool(conv1d(x, w) + bias))`, channels last: `x` `[batch, T, C]`,
    /// `w` `[K·C, F]`, `bias` `[F]` → `[batch, (T − K + 1) / pool, F]`.
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self>;
}

impl ConvPoolOps for Flex {
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self> {
        <Flex as ConvPoolKernels>::conv_pool_forward(x, w, bias, pool).0
    }
}

#[cfg(feature = "cuda")]
impl ConvPoolKernels for burn::backend::Cube {}

#[cfg(feature = "cuda")]
impl ConvPoolOps for burn::backend::Cube {
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self> {
        <Self as ConvPoolKernels>::conv_pool_forward(x, w, bias, pool).0
    }
}

#[derive(Debug)]
struct ConvPoolBackward;

impl<B: ConvPoolKernels> Backward<B, 3> for ConvPoolBackward {
    type State = (ConvPoolCache<B>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad_y = grads.consume::<B>(&ops.node);
        let (cache, y, w) = ops.state;
        let [x_node, w_node, b_node] = ops.parents;
        let (dx, dw, db) = B::conv_pool_backward(cache, y, w, grad_y, x_node.is_some());
        if let (Some(node), Some(dx)) = (x_node, dx) {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = w_node {
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = b_node {
            grads.register::<B>(node.id, db);
        }
    }
}

impl<B: ConvPoolKernels, C: CheckpointStrategy> ConvPoolOps for Autodiff<B, C> {
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
    ) -> FloatTensor<Self> {
        let prep = ConvPoolBackward.prepare::<C>([x.node(), w.node(), bias.node()]).compute_bound().stateful();
        let (x, w, bias) = (x.into_primitive(), w.into_primitive(), bias.into_primitive());
        let (y, cache) = B::conv_pool_forward(x, w.clone(), bias, pool);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((cache, y.clone(), w), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

/// `relu(maxpool(conv1d(x) + bias))` over time, channels last:
/// `x` `[batch, T, C]`, `w` `[K·C, F]` (row `tap·C + c`), `bias` `[F]`;
/// output `[batch, (T − K + 1) / pool, F]`.
pub fn conv1d_relu_pool(x: Tensor<3>, w: Tensor<2>, bias: Tensor<1>, pool: usize) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as ConvPoolOps>::conv1d_relu_pool(
        x.into_dispatch(),
        w.into_dispatch(),
        bias.into_dispatch(),
        pool,
    ))
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::relu;

    use super::*;

    /// The same block from stock burn tensor operations, differentiated by burn.
    fn reference(x: Tensor<3>, w: Tensor<2>, bias: Tensor<1>, pool: usize) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let [kc, f] = w.dims();
        let k = kc / c;
        let tc = t + 1 - k;
        let tp = tc / pool;
        let taps: Vec<Tensor<3>> = (0..k).map(|tap| x.clone().slice([0..b, tap..tap + tc, 0..c])).collect();
        let cols = Tensor::cat(taps, 2).reshape([b * tc, kc]);
        let z = (cols.matmul(w) + bias.unsqueeze::<2>()).reshape([b, tc, f]);
        let win = z.slice([0..b, 0..tp * pool, 0..f]).reshape([b, tp, pool, f]);
        relu(win.max_dim(2).reshape([b, tp, f]))
    }

    fn check(b: usize, t: usize, c: usize, k: usize, f: usize, pool: usize) {
        let device = Device::flex().autodiff();
        device.seed(11);
        let x = Tensor::<3>::random([b, t, c], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<2>::random([k * c, f], Distribution::Normal(0.0, 0.5), &device);
        let bias = Tensor::<1>::random([f], Distribution::Normal(0.0, 0.5), &device);
        let tp = (t + 1 - k) / pool;
        let mix = Tensor::<3>::random([b, tp, f], Distribution::Normal(0.0, 1.0), &device);
        let run = |op: &dyn Fn(Tensor<3>, Tensor<2>, Tensor<1>) -> Tensor<3>| {
            let (x, w, bias) = (x.clone().require_grad(), w.clone().require_grad(), bias.clone().require_grad());
            let y = op(x.clone(), w.clone(), bias.clone());
            let grads = (y.clone() * mix.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("dx"), w.grad(&grads).expect("dw"), bias.grad(&grads).expect("db"))
        };
        let fused = run(&|x, w, b| conv1d_relu_pool(x, w, b, pool));
        let want = run(&|x, w, b| reference(x, w, b, pool));
        let diff = |a: Tensor<3>, b: Tensor<3>| (a - b).abs().max().into_scalar::<f32>();
        assert!(diff(fused.0, want.0) < 1e-5, "forward");
        assert!(diff(fused.1, want.1) < 1e-4, "dx");
        assert!((fused.2 - want.2).abs().max().into_scalar::<f32>() < 1e-4, "dw");
        assert!((fused.3 - want.3).abs().max().into_scalar::<f32>() < 1e-4, "db");
    }

    #[test]
    fn fused_conv_block_matches_burn_autodiff() {
        check(2, 9, 1, 3, 4, 2);
        check(3, 60, 3, 3, 64, 2);
        check(2, 20, 5, 5, 7, 3);
        check(4, 12, 2, 1, 3, 1);
    }
}
