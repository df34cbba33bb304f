//! The convolution block (1-D convolution, bias, ReLU, max-pooling;
//! optionally dilated and causal) as one burn operation with its own
//! backward pass.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};

use super::conv_pool_kernels::{ConvPoolCache, ConvPoolKernels, Geometry};

/// The convolution block, routed to the backend of its inputs.
#[backend_extension(Flex, Cube: cfg(any(feature = "cuda", feature = "wgpu")), Autodiff)]
pub trait ConvPoolOps: Backend {
    /// `relu(maxpool(conv1d(x, w) + bias))`, channels last: `x` `[batch, T, C]`,
    /// `w` `[K·C, F]`, `bias` `[F]` → `[batch, Tc / pool, F]` with
    /// `Tc = T − (K − 1)·dilation`, or `T` when `causal`.
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
        dilation: usize,
        causal: bool,
    ) -> FloatTensor<Self>;
}

impl ConvPoolOps for Flex {
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
        dilation: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        <Flex as ConvPoolKernels>::conv_pool_forward(x, w, bias, Geometry { pool, dilation, causal }).0
    }
}

#[cfg(any(feature = "cuda", feature = "wgpu"))]
impl ConvPoolKernels for burn::backend::Cube {}

#[cfg(any(feature = "cuda", feature = "wgpu"))]
impl ConvPoolOps for burn::backend::Cube {
    fn conv1d_relu_pool(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        pool: usize,
        dilation: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        <Self as ConvPoolKernels>::conv_pool_forward(x, w, bias, Geometry { pool, dilation, causal }).0
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
        dilation: usize,
        causal: bool,
    ) -> FloatTensor<Self> {
        let prep = ConvPoolBackward.prepare::<C>([x.node(), w.node(), bias.node()]).compute_bound().stateful();
        let (x, w, bias) = (x.into_primitive(), w.into_primitive(), bias.into_primitive());
        let (y, cache) = B::conv_pool_forward(x, w.clone(), bias, Geometry { pool, dilation, causal });
        match prep {
            OpsKind::Tracked(prep) => prep.finish((cache, y.clone(), w), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}

/// `relu(maxpool(conv1d(x) + bias))` over time, channels last:
/// `x` `[batch, T, C]`, `w` `[K·C, F]` (row `tap·C + c`), `bias` `[F]`;
/// output `[batch, Tc / pool, F]`, `Tc = T − (K − 1)·dilation` (or `T` when `causal`).
pub fn conv1d_relu_pool(
    x: Tensor<3>,
    w: Tensor<2>,
    bias: Tensor<1>,
    pool: usize,
    dilation: usize,
    causal: bool,
) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as ConvPoolOps>::conv1d_relu_pool(
        x.into_dispatch(),
        w.into_dispatch(),
        bias.into_dispatch(),
        pool,
        dilation,
        causal,
    ))
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::relu;

    use super::*;

    /// The same block from stock burn tensor operations, differentiated by burn.
    fn reference(x: Tensor<3>, w: Tensor<2>, bias: Tensor<1>, g: Geometry) -> Tensor<3> {
        let [b, _, c] = x.dims();
        let [kc, f] = w.dims();
        let k = kc / c;
        let pad = if g.causal { (k - 1) * g.dilation } else { 0 };
        let x = if pad > 0 { Tensor::cat(vec![Tensor::<3>::zeros([b, pad, c], &x.device()), x], 1) } else { x };
        let t = x.dims()[1];
        let tc = t - (k - 1) * g.dilation;
        let tp = tc / g.pool;
        let taps: Vec<Tensor<3>> =
            (0..k).map(|tap| x.clone().slice([0..b, tap * g.dilation..tap * g.dilation + tc, 0..c])).collect();
        let cols = Tensor::cat(taps, 2).reshape([b * tc, kc]);
        let z = (cols.matmul(w) + bias.unsqueeze::<2>()).reshape([b, tc, f]);
        let win = z.slice([0..b, 0..tp * g.pool, 0..f]).reshape([b, tp, g.pool, f]);
        relu(win.max_dim(2).reshape([b, tp, f]))
    }

    fn check(b: usize, t: usize, c: usize, k: usize, f: usize, g: Geometry) {
        let device = Device::flex().autodiff();
        device.seed(11);
        let x = Tensor::<3>::random([b, t, c], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<2>::random([k * c, f], Distribution::Normal(0.0, 0.5), &device);
        let bias = Tensor::<1>::random([f], Distribution::Normal(0.0, 0.5), &device);
        let mix = Tensor::<3>::random([b, g.output_steps(t, k), f], Distribution::Normal(0.0, 1.0), &device);
        let run = |op: &dyn Fn(Tensor<3>, Tensor<2>, Tensor<1>) -> Tensor<3>| {
            let (x, w, bias) = (x.clone().require_grad(), w.clone().require_grad(), bias.clone().require_grad());
            let y = op(x.clone(), w.clone(), bias.clone());
            let grads = (y.clone() * mix.clone()).sum().backward();
            (y.inner(), x.grad(&grads).expect("dx"), w.grad(&grads).expect("dw"), bias.grad(&grads).expect("db"))
        };
        let fused = run(&|x, w, b| conv1d_relu_pool(x, w, b, g.pool, g.dilation, g.causal));
        let want = run(&|x, w, b| reference(x, w, b, g));
        let what = format!("{b}x{t}x{c} k{k} f{f} {g:?}");
        assert!((fused.0 - want.0).abs().max().into_scalar::<f32>() < 1e-5, "forward {what}");
        assert!((fused.1 - want.1).abs().max().into_scalar::<f32>() < 1e-4, "dx {what}");
        assert!((fused.2 - want.2).abs().max().into_scalar::<f32>() < 1e-4, "dw {what}");
        assert!((fused.3 - want.3).abs().max().into_scalar::<f32>() < 1e-4, "db {what}");
    }

    fn pooled(pool: usize) -> Geometry {
        Geometry { pool, dilation: 1, causal: false }
    }

    #[test]
    fn fused_conv_block_matches_burn_autodiff() {
        check(2, 9, 1, 3, 4, pooled(2));
        check(3, 60, 3, 3, 64, pooled(2));
        check(2, 20, 5, 5, 7, pooled(3));
        check(4, 12, 2, 1, 3, pooled(1));
    }

    #[test]
    fn dilated_and_causal_convolutions_match_burn_autodiff() {
        check(2, 20, 3, 3, 5, Geometry { pool: 1, dilation: 2, causal: false });
        check(3, 16, 2, 3, 4, Geometry { pool: 1, dilation: 4, causal: true });
        check(2, 10, 1, 2, 3, Geometry { pool: 1, dilation: 1, causal: true });
        check(2, 12, 3, 3, 4, Geometry { pool: 2, dilation: 2, causal: true });
    }

    #[test]
    fn generic_kernels_match_flex_kernels() {
        use crate::ops::conv_pool_kernels::{generic_backward, generic_forward};
        use crate::ops::testing::{close, flex, values};
        for g in [pooled(2), Geometry { pool: 1, dilation: 2, causal: true }] {
            let (b, steps, c, k, f) = (3, 14, 2, 3, 5);
            let x = flex(values(b * steps * c, 1), vec![b, steps, c]);
            let w = flex(values(k * c * f, 2), vec![k * c, f]);
            let bias = flex(values(f, 3), vec![f]);
            let (fy, fc) = <Flex as ConvPoolKernels>::conv_pool_forward(x.clone(), w.clone(), bias.clone(), g);
            let (sy, sc) = generic_forward::<Flex>(x, w.clone(), bias, g);
            close(fy.clone(), sy.clone(), "y");
            let out = g.output_steps(steps, k);
            let gy = flex(values(b * out * f, 4), vec![b, out, f]);
            let (fdx, fdw, fdb) = <Flex as ConvPoolKernels>::conv_pool_backward(fc, fy, w.clone(), gy.clone(), true);
            let (sdx, sdw, sdb) = generic_backward::<Flex>(sc, sy, w, gy, true);
            close(fdx.expect("dx"), sdx.expect("dx"), "dx");
            close(fdw, sdw, "dw");
            close(fdb, sdb, "db");
        }
    }
}
