//! The importer: an ONNX graph onto the runtime's layers.
//!
//! The graph is walked in order. Each value is a constant (initializers, `Constant`, and the shape arithmetic
//! exporters emit, folded here) or an activation: the runtime's buffer `[batch, steps, width]` seen through the
//! graph's axes (which ONNX axis is the batch, the steps, the width, or a unit axis). Transposes, reshapes that
//! only move unit axes, squeezes, `Identity` and `Dropout` change the view, not the buffer. `Conv`, `MaxPool`,
//! `Relu`, `MatMul`/`Gemm` + `Add`, `LSTM`, `GRU`, a `Gather`/`Slice` of the last step, `Flatten` and a final
//! `Sigmoid` (or a two-class `Softmax`) become layers, fused where the runtime fuses them. The activations must
//! form one chain (no branches), and the output's axes must be in the runtime's order. Anything else is refused
//! naming the node, so the caller can run the graph through a general engine instead.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use super::proto::{self, Data, MAX_ELEMENTS, Node, Tensor};
use crate::error::{Error, Result};
use crate::format::{Affine, ConvSpec, DenseSpec, Header, LayerSpec, NamedTensor};

/// An ONNX graph mapped onto the runtime.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
    /// Their weights.
    pub tensors: Vec<NamedTensor>,
    /// Steps per input window.
    pub steps: usize,
    /// Values per input step.
    pub features: usize,
    /// Output `(steps, width)`.
    pub output: (usize, usize),
    /// The graph ended in a sigmoid (or a two-class softmax), left to the score: the network gives the logit.
    pub sigmoid: bool,
    /// A per-feature `Sub`/`Div`/`Mul`/`Add` on the input before any layer, folded into a scaler.
    pub scaler: Option<Affine>,
    /// The file's producer (e.g. `pytorch 2.9`, `tf2onnx`).
    pub producer: String,
    /// How parts of the graph were mapped, for the user.
    pub notes: Vec<String>,
}

/// The most values one window's activation may have (steps × width).
const MAX_WINDOW: usize = 1 << 22;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ax {
    B,
    T,
    C,
    U,
}

/// An activation: the buffer `[b, t, c]` seen through `axes` (T or C may be left out when 1).
#[derive(Debug, Clone, PartialEq)]
struct Act {
    axes: Vec<Ax>,
    t: usize,
    c: usize,
    /// The buffer's version: bumped by every layer (and fusion), so a stale view is refused.
    version: usize,
}

#[derive(Debug, Clone)]
enum Val {
    K(Tensor),
    A(Act),
}

struct Mapper {
    vals: BTreeMap<String, Val>,
    uses: BTreeMap<String, usize>,
    layers: Vec<LayerSpec>,
    tensors: Vec<NamedTensor>,
    version: usize,
    batch: usize,
    sigmoid: bool,
    /// The input is `(raw − offset) / scale`: arithmetic before the first layer, folded.
    affine: (Vec<f64>, Vec<f64>),
    /// No layer has run yet.
    at_input: bool,
    notes: Vec<String>,
}

fn refuse(node: &Node, message: impl Into<String>) -> Error {
    let name = if node.name.is_empty() { node.outputs.first().cloned().unwrap_or_default() } else { node.name.clone() };
    Error::invalid(format!("ONNX node '{name}' ({})", node.op), message.into())
}

fn ints(v: &[i64]) -> Tensor {
    Tensor { dims: vec![v.len()], data: Data::I(v.to_vec()) }
}

/// `axis` of rank `rank`, negative counted from the end.
fn axis(a: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}

impl Act {
    fn dim(&self, ax: Ax, batch: usize) -> usize {
        match ax {
            Ax::B => batch,
            Ax::T => self.t,
            Ax::C => self.c,
            Ax::U => 1,
        }
    }

    fn dims(&self, batch: usize) -> Vec<usize> {
        self.axes.iter().map(|&a| self.dim(a, batch)).collect()
    }

    fn has(&self, ax: Ax) -> bool {
        self.axes.contains(&ax)
    }

    /// The runtime's order: B before T before C, unit axes anywhere.
    fn in_order(&self) -> bool {
        let order: Vec<Ax> = self.axes.iter().copied().filter(|&a| a != Ax::U).collect();
        let want: Vec<Ax> = [Ax::B, Ax::T, Ax::C].into_iter().filter(|a| order.contains(a)).collect();
        order == want && self.has(Ax::B) && (self.has(Ax::T) || self.t == 1) && (self.has(Ax::C) || self.c == 1)
    }
}

impl Mapper {
    fn get(&self, node: &Node, i: usize) -> Result<&Val> {
        let name = node.input(i).ok_or_else(|| refuse(node, format!("input {i} is missing")))?;
        self.vals.get(name).ok_or_else(|| refuse(node, format!("input '{name}' is not computed before it")))
    }

    fn konst(&self, node: &Node, i: usize) -> Result<Tensor> {
        match self.get(node, i)? {
            Val::K(t) => Ok(t.clone()),
            Val::A(_) => Err(refuse(node, format!("input {i} must be a constant (weights or a shape)"))),
        }
    }

    fn opt_konst(&self, node: &Node, i: usize) -> Result<Option<Tensor>> {
        if node.input(i).is_none() { Ok(None) } else { self.konst(node, i).map(Some) }
    }

    /// The activation input `i`, current (the chain's latest buffer).
    fn act(&self, node: &Node, i: usize) -> Result<Act> {
        match self.get(node, i)? {
            Val::A(a) if a.version == self.version => Ok(a.clone()),
            Val::A(_) => Err(refuse(
                node,
                "reads an activation from before a later layer: the graph branches (a residual or a skip \
                 connection), which the runtime's layer chain does not map",
            )),
            Val::K(_) => Err(refuse(node, "expected an activation input, found a constant")),
        }
    }

    fn set(&mut self, node: &Node, i: usize, v: Val) {
        if let Some(name) = node.outputs.get(i) {
            self.vals.insert(name.clone(), v);
        }
    }

    /// Refuses an activation with no values or more than the runtime should hold for one window.
    fn check_act(node: &Node, a: &Act) -> Result<()> {
        match a.t.checked_mul(a.c) {
            Some(n) if n > 0 && n <= MAX_WINDOW => Ok(()),
            _ => Err(refuse(node, format!("an activation of {} × {} values per window", a.t, a.c))),
        }
    }

    fn used(&self, name: &str) -> bool {
        self.uses.get(name).copied().unwrap_or(0) > 0
    }

    fn tensor(&mut self, what: &str, dims: Vec<usize>, values: Vec<f32>) -> String {
        let name = format!("l{}.{what}", self.layers.len());
        self.tensors.push((name.clone(), dims, values));
        name
    }

    fn push(&mut self, spec: LayerSpec) {
        self.layers.push(spec);
        self.at_input = false;
        self.version += 1;
    }

    fn tensor_mut(&mut self, name: &str) -> Option<&mut Vec<f32>> {
        self.tensors.iter_mut().find(|(n, _, _)| n == name).map(|(_, _, v)| v)
    }

    fn step(&mut self, node: &Node) -> Result<()> {
        let op = node.op.as_str();
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(refuse(node, format!("operator domain '{}' is not ONNX's", node.domain)));
        }
        // Constant arithmetic first: every input a constant.
        let all_const = (0..node.inputs.len())
            .filter(|&i| node.input(i).is_some())
            .all(|i| matches!(self.vals.get(&node.inputs[i]), Some(Val::K(_))));
        if op == "Constant" {
            let t = constant(node)?;
            self.set(node, 0, Val::K(t));
            return Ok(());
        }
        if all_const && !node.inputs.is_empty() {
            let t = self.fold(node)?;
            self.set(node, 0, Val::K(t));
            return Ok(());
        }
        match op {
            "Identity" | "Dropout" | "Cast" => {
                if op == "Dropout" && node.outputs.get(1).is_some_and(|m| self.used(m)) {
                    return Err(refuse(node, "its mask output is used"));
                }
                let a = self.act(node, 0)?;
                self.set(node, 0, Val::A(a));
            }
            "Shape" => {
                let a = self.act(node, 0)?;
                let dims: Vec<i64> = a.dims(self.batch).iter().map(|&d| d as i64).collect();
                self.set(node, 0, Val::K(ints(&dims)));
            }
            "Transpose" => {
                let a = self.act(node, 0)?;
                let perm = node.ints("perm").unwrap_or_else(|| (0..a.axes.len() as i64).rev().collect());
                if perm.len() != a.axes.len() {
                    return Err(refuse(node, format!("perm {perm:?} for {} axes", a.axes.len())));
                }
                let axes = perm
                    .iter()
                    .map(|&p| axis(p, a.axes.len()).map(|p| a.axes[p]))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| refuse(node, format!("perm {perm:?}")))?;
                self.set(node, 0, Val::A(Act { axes, ..a }));
            }
            "Squeeze" | "Unsqueeze" => {
                let a = self.act(node, 0)?;
                let list = match self.opt_konst(node, 1)? {
                    Some(t) => Some(t.ints()),
                    None => node.ints("axes"),
                };
                let out = if op == "Squeeze" { self.squeeze(node, &a, list)? } else { unsqueeze(node, &a, list)? };
                self.set(node, 0, Val::A(out));
            }
            "Reshape" => {
                let a = self.act(node, 0)?;
                let shape = self.konst(node, 1)?.ints();
                let out = self.reshape(node, a, &shape)?;
                self.set(node, 0, Val::A(out));
            }
            "Flatten" => {
                let a = self.act(node, 0)?;
                let ax = axis(node.int("axis", 1), a.axes.len() + 1).unwrap_or(usize::MAX);
                let dims = a.dims(self.batch);
                if ax == 0 || ax > dims.len() {
                    return Err(refuse(node, "flattens the batch axis"));
                }
                let head: i64 = dims[..ax].iter().product::<usize>() as i64;
                let out = self.reshape(node, a, &[head, -1])?;
                self.set(node, 0, Val::A(out));
            }
            "Sub" | "Div" | "Mul" | "Add" => self.arith(node)?,
            "Relu" => {
                let a = self.act(node, 0)?;
                match self.layers.last_mut() {
                    Some(LayerSpec::Conv(c)) if !c.relu => c.relu = true,
                    Some(LayerSpec::Dense(d)) if !d.relu => d.relu = true,
                    _ => return Err(refuse(node, "a ReLU that does not follow a convolution or a dense layer")),
                }
                self.version += 1;
                self.set(node, 0, Val::A(Act { version: self.version, ..a }));
            }
            "Sigmoid" => {
                let a = self.act(node, 0)?;
                self.sigmoid = true;
                self.version += 1;
                self.set(node, 0, Val::A(Act { version: self.version, ..a }));
            }
            "Softmax" => self.softmax(node)?,
            "Conv" => self.conv(node)?,
            "MaxPool" => self.maxpool(node)?,
            "MatMul" | "Gemm" => self.dense(node)?,
            "LSTM" | "GRU" => self.recurrent(node)?,
            "Gather" => self.gather(node)?,
            "Slice" => self.slice(node)?,
            "Tile" => self.tile(node)?,
            other => return Err(refuse(node, format!("the operator {other} is not mapped onto the runtime"))),
        }
        for name in &node.outputs {
            if let Some(Val::A(a)) = self.vals.get(name) {
                Self::check_act(node, a)?;
            }
        }
        if self.sigmoid
            && !matches!(op, "Sigmoid" | "Softmax" | "Identity" | "Squeeze" | "Reshape" | "Flatten" | "Transpose")
        {
            return Err(refuse(node, "comes after the sigmoid; the runtime ends a classifier at its logit"));
        }
        Ok(())
    }

    fn squeeze(&self, node: &Node, a: &Act, list: Option<Vec<i64>>) -> Result<Act> {
        let dims = a.dims(self.batch);
        let drop: Vec<usize> = match list {
            Some(l) => l
                .iter()
                .map(|&x| axis(x, dims.len()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| refuse(node, format!("axes {l:?}")))?,
            None => (0..dims.len()).filter(|&i| dims[i] == 1 && a.axes[i] != Ax::B).collect(),
        };
        let mut axes = Vec::new();
        for (i, &ax) in a.axes.iter().enumerate() {
            if drop.contains(&i) {
                if dims[i] != 1 || ax == Ax::B {
                    return Err(refuse(
                        node,
                        format!("squeezes axis {i} of size {} (the batch or a real axis)", dims[i]),
                    ));
                }
            } else {
                axes.push(ax);
            }
        }
        Ok(Act { axes, ..a.clone() })
    }

    /// A reshape the runtime can follow: one that only moves unit axes, flattens `[b, t, c]` to
    /// `[b, t·c]`, or unflattens `[b, n]` to `[b, steps, n / steps]`.
    fn reshape(&mut self, node: &Node, a: Act, shape: &[i64]) -> Result<Act> {
        let dims = a.dims(self.batch);
        let product = |d: &[usize]| d.iter().try_fold(1usize, |n, &x| n.checked_mul(x));
        let total = product(&dims).ok_or_else(|| refuse(node, "too many values"))?;
        let mut new: Vec<usize> = Vec::with_capacity(shape.len());
        let mut infer = None;
        for (i, &s) in shape.iter().enumerate() {
            match s {
                0 => new.push(*dims.get(i).ok_or_else(|| refuse(node, "copies an axis that is not there"))?),
                -1 if infer.is_none() => {
                    infer = Some(i);
                    new.push(1);
                }
                s if s > 0 => new.push(s as usize),
                _ => return Err(refuse(node, format!("shape {shape:?}"))),
            }
        }
        if let Some(i) = infer {
            let rest = product(&new).ok_or_else(|| refuse(node, format!("shape {shape:?}")))?;
            if rest == 0 || !total.is_multiple_of(rest) {
                return Err(refuse(node, format!("shape {shape:?} for {dims:?}")));
            }
            new[i] = total / rest;
        }
        // A batch of one is a unit axis that a reshape may move (tf2onnx writes transposes so); a larger or open
        // batch stays the first axis.
        let b_unit = self.batch == 1;
        if product(&new) != Some(total)
            || (!b_unit && (a.axes.first() != Some(&Ax::B) || new.first() != Some(&self.batch)))
        {
            return Err(refuse(node, format!("shape {new:?} for {dims:?} (the batch must stay the first axis)")));
        }
        // The real axes besides the batch, in order, with their sizes.
        let real: Vec<(Ax, usize)> =
            a.axes.iter().zip(&dims).filter(|&(&x, &d)| d > 1 && x != Ax::B).map(|(&x, &d)| (x, d)).collect();
        let skip = usize::from(!b_unit);
        let wanted: Vec<usize> = new[skip..].iter().copied().filter(|&d| d > 1).collect();
        let label = |sizes: &[(Ax, usize)]| -> Vec<Ax> {
            let mut it = sizes.iter();
            let mut axes = if b_unit { Vec::new() } else { vec![Ax::B] };
            let mut placed = !b_unit;
            for &d in &new[skip..] {
                axes.push(match d {
                    1 if !placed => {
                        placed = true;
                        Ax::B
                    }
                    1 => Ax::U,
                    _ => it.next().map_or(Ax::U, |p| p.0),
                });
            }
            axes
        };
        if real.iter().map(|p| p.1).collect::<Vec<_>>() == wanted {
            return Ok(Act { axes: label(&real), ..a });
        }
        match (real.as_slice(), wanted.as_slice()) {
            ([(Ax::T, t), (Ax::C, c)], [n]) if t * c == *n => {
                self.push(LayerSpec::Flatten);
                let out = Act { axes: Vec::new(), t: 1, c: *n, version: self.version };
                Ok(Act { axes: label(&[(Ax::C, *n)]), ..out })
            }
            ([(Ax::C, n)], [s, c]) if s * c == *n => {
                self.push(LayerSpec::Unflatten { steps: *s });
                let out = Act { axes: Vec::new(), t: *s, c: *c, version: self.version };
                Ok(Act { axes: label(&[(Ax::T, *s), (Ax::C, *c)]), ..out })
            }
            ([(Ax::C, _), (Ax::T, _)], [_]) => {
                Err(refuse(node, "flattens channels before steps (channels-first); the runtime flattens steps-first"))
            }
            _ => Err(refuse(node, format!("reshapes {dims:?} to {new:?}, which moves values between axes"))),
        }
    }

    /// Element-wise arithmetic with a constant: folded into the scaler at the input, or a bias after a
    /// convolution or dense layer.
    fn arith(&mut self, node: &Node) -> Result<()> {
        let (a, k) = match (self.get(node, 0)?.clone(), self.get(node, 1)?.clone()) {
            (Val::A(_), Val::K(k)) => (self.act(node, 0)?, k),
            (Val::K(k), Val::A(_)) if matches!(node.op.as_str(), "Add" | "Mul") => (self.act(node, 1)?, k),
            _ => return Err(refuse(node, "element-wise arithmetic between activations (a branch)")),
        };
        let per_c = per_channel(&a, &k, self.batch).ok_or_else(|| {
            refuse(node, format!("a constant of shape {:?} that is not one value per channel", k.dims))
        })?;
        if self.at_input {
            let (offset, scale) = &mut self.affine;
            // The input is (raw − offset) / scale; fold the operation into the pair.
            for (ch, &v) in per_c.iter().enumerate() {
                let v = f64::from(v);
                match node.op.as_str() {
                    "Sub" => offset[ch] += v * scale[ch],
                    "Add" => offset[ch] -= v * scale[ch],
                    "Div" => scale[ch] *= v,
                    _ => scale[ch] /= v,
                }
            }
            if scale.iter().any(|s| *s == 0.0 || !s.is_finite()) {
                return Err(refuse(node, "a scale of zero or infinity"));
            }
            self.set(node, 0, Val::A(a));
            return Ok(());
        }
        let bias = match (node.op.as_str(), self.layers.last()) {
            ("Add", Some(LayerSpec::Dense(d))) if !d.relu => d.bias.clone(),
            ("Add", Some(LayerSpec::Conv(c))) if !c.relu && c.pool == 1 => c.bias.clone(),
            _ => {
                return Err(refuse(
                    node,
                    "arithmetic with a constant that is not a bias after a convolution or dense layer",
                ));
            }
        };
        let b = self.tensor_mut(&bias).ok_or_else(|| refuse(node, "bias tensor missing"))?;
        for (x, v) in b.iter_mut().zip(&per_c) {
            *x += v;
        }
        self.version += 1;
        self.set(node, 0, Val::A(Act { version: self.version, ..a }));
        Ok(())
    }

    /// A softmax over two classes at the end: class 1's probability is the sigmoid of the logits' difference.
    fn softmax(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        let last = a.axes.iter().rposition(|&x| x != Ax::U);
        let ok = a.c == 2 && last.map(|i| a.axes[i]) == Some(Ax::C);
        let Some(LayerSpec::Dense(d)) = self.layers.last().cloned() else {
            return Err(refuse(node, "a softmax that does not follow a dense layer"));
        };
        if !ok || d.relu {
            return Err(refuse(node, "a softmax over other than two classes on the last axis"));
        }
        let (w, b) = (self.take(&d.weight), self.take(&d.bias));
        let (Some((_, wd, wv)), Some((_, _, bv))) = (w, b) else {
            return Err(refuse(node, "dense weights missing"));
        };
        let k = wd[0];
        let wdiff: Vec<f32> = (0..k).map(|r| wv[r * 2 + 1] - wv[r * 2]).collect();
        self.layers.pop();
        let weight = self.tensor("weight", vec![k, 1], wdiff);
        let bias = self.tensor("bias", vec![1], vec![bv[1] - bv[0]]);
        self.push(LayerSpec::Dense(DenseSpec { weight, bias, relu: false }));
        self.sigmoid = true;
        self.notes.push("a softmax over two classes: the score is class 1's probability".into());
        self.set(node, 0, Val::A(Act { c: 1, version: self.version, ..a }));
        Ok(())
    }

    fn take(&mut self, name: &str) -> Option<NamedTensor> {
        let i = self.tensors.iter().position(|(n, _, _)| n == name)?;
        Some(self.tensors.remove(i))
    }

    fn conv(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        let w = self.konst(node, 1)?;
        let group = node.int("group", 1);
        if group != 1 {
            return Err(refuse(node, format!("group {group} (the runtime's convolutions are dense)")));
        }
        // [B, C, spatial…] with exactly one spatial axis the steps.
        let spatial = a.axes.get(2..).unwrap_or_default().to_vec();
        let time = spatial.iter().position(|&x| x == Ax::T).or_else(|| (a.t == 1 && spatial.len() == 1).then_some(0));
        let (Some(ti), [Ax::B, Ax::C, ..]) = (time, a.axes.as_slice()) else {
            return Err(refuse(node, "the input is not [batch, channels, steps] (NCW, or NCHW with a unit height)"));
        };
        if spatial.iter().enumerate().any(|(i, &x)| i != ti && x != Ax::U) || w.dims.len() != 2 + spatial.len() {
            return Err(refuse(node, format!("a kernel of shape {:?} over {} spatial axes", w.dims, spatial.len())));
        }
        let n = spatial.len();
        let kshape = node.ints("kernel_shape").unwrap_or_else(|| w.dims[2..].iter().map(|&d| d as i64).collect());
        let strides = node.ints("strides").unwrap_or_else(|| vec![1; n]);
        let dil = node.ints("dilations").unwrap_or_else(|| vec![1; n]);
        let pads = node.ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
        if kshape.len() != n || strides.len() != n || dil.len() != n || pads.len() != 2 * n {
            return Err(refuse(node, "kernel_shape, strides, dilations or pads of the wrong length"));
        }
        for i in (0..n).filter(|&i| i != ti) {
            if kshape[i] != 1 || w.dims[2 + i] != 1 || pads[i] != 0 || pads[n + i] != 0 {
                return Err(refuse(node, "a kernel or padding along a unit axis"));
            }
        }
        let (f, c, k) = (w.dims[0], w.dims[1], usize::try_from(kshape[ti]).unwrap_or(0));
        let small = |v: i64| (1..=1 << 20).contains(&v);
        if c != a.c || f == 0 || w.dims[2 + ti] != k || k == 0 || !small(strides[ti]) || !small(dil[ti]) {
            return Err(refuse(node, format!("weights {:?} for {} channels", w.dims, a.c)));
        }
        let (stride, dilation) = (strides[ti] as usize, dil[ti] as usize);
        let pad = |v: i64| usize::try_from(v).ok().filter(|&p| p <= 1 << 20);
        let (Some(mut pl), Some(mut pr)) = (pad(pads[ti]), pad(pads[n + ti])) else {
            return Err(refuse(node, format!("pads {pads:?}")));
        };
        match node.string("auto_pad").as_deref() {
            None | Some("NOTSET") | Some("VALID") => {}
            Some(mode @ ("SAME_UPPER" | "SAME_LOWER")) => {
                let out = a.t.div_ceil(stride);
                let total = (out - 1).saturating_mul(stride).saturating_add((k - 1).saturating_mul(dilation)) + 1;
                let total = total.saturating_sub(a.t).min(1 << 20);
                (pl, pr) =
                    if mode == "SAME_UPPER" { (total / 2, total - total / 2) } else { (total - total / 2, total / 2) };
            }
            Some(other) => return Err(refuse(node, format!("auto_pad {other}"))),
        }
        // ONNX [filter, channel, tap] (unit axes between) → ours, row tap·c + channel, column filter.
        let wv = w.floats();
        let mut ours = vec![0f32; k * c * f];
        for fi in 0..f {
            for ch in 0..c {
                for tap in 0..k {
                    ours[(tap * c + ch) * f + fi] = wv[(fi * c + ch) * k + tap];
                }
            }
        }
        let bias = self.opt_konst(node, 2)?.map_or_else(|| vec![0.0; f], |b| b.floats());
        if bias.len() != f {
            return Err(refuse(node, format!("{} biases for {f} filters", bias.len())));
        }
        let weight = self.tensor("weight", vec![k * c, f], ours);
        let bias = self.tensor("bias", vec![f], bias);
        let spec =
            ConvSpec { weight, bias, kernel: k, stride, dilation, pad_left: pl, pad_right: pr, pool: 1, relu: false };
        let span = (k - 1).checked_mul(dilation).map_or(usize::MAX, |s| s + 1);
        let t = (a.t + pl + pr).checked_sub(span).map(|v| v / stride + 1).filter(|&t| t > 0);
        let t = t.ok_or_else(|| refuse(node, format!("{} steps are too few for its kernel", a.t)))?;
        self.push(LayerSpec::Conv(spec));
        self.set(node, 0, Val::A(Act { t, c: f, version: self.version, ..a }));
        Ok(())
    }

    fn maxpool(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        if node.outputs.get(1).is_some_and(|m| self.used(m)) {
            return Err(refuse(node, "its indices output is used"));
        }
        let spatial = a.axes.get(2..).unwrap_or_default().to_vec();
        let ti = spatial.iter().position(|&x| x == Ax::T);
        let (Some(ti), [Ax::B, Ax::C, ..]) = (ti, a.axes.as_slice()) else {
            return Err(refuse(node, "the input is not [batch, channels, steps]"));
        };
        let n = spatial.len();
        let k = node.ints("kernel_shape").unwrap_or_default();
        let s = node.ints("strides").unwrap_or_else(|| vec![1; n]);
        let pads = node.ints("pads").unwrap_or_else(|| vec![0; 2 * n]);
        let d = node.ints("dilations").unwrap_or_else(|| vec![1; n]);
        let unit_ok = (0..n).filter(|&i| i != ti).all(|i| k.get(i) == Some(&1));
        let auto = node.string("auto_pad");
        if k.len() != n
            || s.get(ti) != k.get(ti)
            || pads.iter().any(|&p| p != 0)
            || d.iter().any(|&x| x != 1)
            || node.int("ceil_mode", 0) != 0
            || !unit_ok
            || !matches!(auto.as_deref(), None | Some("NOTSET") | Some("VALID"))
        {
            return Err(refuse(
                node,
                "a max-pool whose stride is not its size, or with padding, dilation or ceil_mode",
            ));
        }
        let pool = k[ti] as usize;
        match self.layers.last_mut() {
            Some(LayerSpec::Conv(c)) if c.pool == 1 && pool >= 1 => c.pool = pool,
            _ => return Err(refuse(node, "a max-pool that does not follow a convolution")),
        }
        let t = a.t / pool;
        if t == 0 {
            return Err(refuse(node, "pools away every step"));
        }
        self.version += 1;
        self.set(node, 0, Val::A(Act { t, version: self.version, ..a }));
        Ok(())
    }

    fn dense(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        let w = self.konst(node, 1)?;
        let gemm = node.op == "Gemm";
        if gemm && node.int("transA", 0) != 0 {
            return Err(refuse(node, "transA"));
        }
        let last = a.axes.iter().rposition(|&x| x != Ax::U).map(|i| a.axes[i]);
        if last != Some(Ax::C) && !(a.c == 1 && last.is_none()) {
            return Err(refuse(node, "multiplies along another axis than the channels"));
        }
        if w.dims.len() != 2 {
            return Err(refuse(node, format!("weights of shape {:?} (a matrix is mapped)", w.dims)));
        }
        let trans = gemm && node.int("transB", 0) != 0;
        let (k, n) = if trans { (w.dims[1], w.dims[0]) } else { (w.dims[0], w.dims[1]) };
        if k != a.c || n == 0 {
            return Err(refuse(node, format!("weights {:?} for {} values", w.dims, a.c)));
        }
        let alpha = if gemm { node.float("alpha", 1.0) } else { 1.0 };
        let wv = w.floats();
        let ours: Vec<f32> = (0..k * n)
            .map(|at| {
                let (r, col) = (at / n, at % n);
                alpha * if trans { wv[col * k + r] } else { wv[r * n + col] }
            })
            .collect();
        let mut bias = vec![0f32; n];
        if gemm && let Some(cb) = self.opt_konst(node, 2)? {
            let beta = node.float("beta", 1.0);
            let v = cb.floats();
            match v.len() {
                1 => bias.iter_mut().for_each(|b| *b = beta * v[0]),
                len if len == n => bias.iter_mut().zip(&v).for_each(|(b, x)| *b = beta * x),
                _ => return Err(refuse(node, format!("a bias of shape {:?}", cb.dims))),
            }
        }
        let weight = self.tensor("weight", vec![k, n], ours);
        let bias = self.tensor("bias", vec![n], bias);
        self.push(LayerSpec::Dense(DenseSpec { weight, bias, relu: false }));
        let mut axes = a.axes.clone();
        if !a.has(Ax::C) {
            axes.push(Ax::C);
        }
        self.set(node, 0, Val::A(Act { axes, c: n, version: self.version, ..a }));
        Ok(())
    }

    fn recurrent(&mut self, node: &Node) -> Result<()> {
        let lstm = node.op == "LSTM";
        let a = self.act(node, 0)?;
        let layout = node.int("layout", 0);
        let want = if layout == 0 { [Ax::T, Ax::B, Ax::C] } else { [Ax::B, Ax::T, Ax::C] };
        let real: Vec<Ax> = a.axes.iter().copied().filter(|&x| x != Ax::U).collect();
        if a.axes.len() != 3 || !(real == want || (a.t == 1 && real.len() == 2 && !real.contains(&Ax::T))) {
            return Err(refuse(
                node,
                format!(
                    "the input is not [{}] (layout {layout})",
                    if layout == 0 { "steps, batch, values" } else { "batch, steps, values" }
                ),
            ));
        }
        let dir = node.string("direction").unwrap_or_else(|| "forward".into());
        if dir != "forward" {
            return Err(refuse(node, format!("direction {dir} (the runtime's recurrent layers run forward)")));
        }
        let defaults: &[&str] = if lstm { &["Sigmoid", "Tanh", "Tanh"] } else { &["Sigmoid", "Tanh"] };
        let custom = node.attr("activations").is_some_and(|a| {
            a.strings.len() != defaults.len() || a.strings.iter().zip(defaults).any(|(s, d)| !s.eq_ignore_ascii_case(d))
        });
        if node.attr("clip").is_some() || custom {
            return Err(refuse(node, "clip or activations other than the defaults"));
        }
        if lstm && (node.int("input_forget", 0) != 0 || node.input(7).is_some()) {
            return Err(refuse(node, "input_forget or peepholes"));
        }
        if !lstm && node.int("linear_before_reset", 0) != 1 {
            return Err(refuse(
                node,
                "linear_before_reset = 0 (the runtime's GRU applies the reset gate after the recurrent product, \
                 as PyTorch and Keras' reset_after do)",
            ));
        }
        let gates = if lstm { 4 } else { 3 };
        let (w, r) = (self.konst(node, 1)?, self.konst(node, 2)?);
        let hidden = usize::try_from(node.int("hidden_size", 0)).unwrap_or(0).min(1 << 20);
        let h = if hidden > 0 { hidden } else { r.dims.last().copied().unwrap_or(0).min(1 << 20) };
        if w.dims != [1, gates * h, a.c] || r.dims != [1, gates * h, h] || h == 0 {
            return Err(refuse(node, format!("W {:?} and R {:?} for {} inputs and {h} units", w.dims, r.dims, a.c)));
        }
        let b = self.opt_konst(node, 3)?.map_or_else(|| vec![0.0; 2 * gates * h], |b| b.floats());
        if b.len() != 2 * gates * h {
            return Err(refuse(node, format!("B with {} values, expected {}", b.len(), 2 * gates * h)));
        }
        if let Some(s) = self.opt_konst(node, 4)?
            && s.ints().iter().any(|&v| v as usize != a.t)
        {
            return Err(refuse(node, "sequence_lens shorter than the window"));
        }
        for (i, what) in [(5, "initial_h"), (6, "initial_c")] {
            if let Some(t) = self.opt_konst(node, i)?
                && t.floats().iter().any(|&v| v != 0.0)
            {
                return Err(refuse(node, format!("a non-zero {what}")));
            }
            if node.input(i).is_some() && !matches!(self.get(node, i)?, Val::K(_)) {
                return Err(refuse(node, format!("{what} is computed")));
            }
        }
        // ONNX gate order → ours: LSTM i, o, f, c → ours i, f, g, o; GRU z, r, h → ours z, r, n.
        let map: &[usize] = if lstm { &[0, 3, 1, 2] } else { &[0, 1, 2] };
        let reorder = |m: &[f32], rows: usize| -> Vec<f32> {
            let mut out = vec![0f32; rows * gates * h];
            for (og, &g) in map.iter().enumerate() {
                for u in 0..h {
                    for row in 0..rows {
                        out[row * gates * h + g * h + u] = m[(og * h + u) * rows + row];
                    }
                }
            }
            out
        };
        let gate_bias = |v: &[f32]| -> Vec<f32> {
            let mut out = vec![0f32; gates * h];
            for (og, &g) in map.iter().enumerate() {
                out[g * h..(g + 1) * h].copy_from_slice(&v[og * h..(og + 1) * h]);
            }
            out
        };
        let (wb, rb) = (gate_bias(&b[..gates * h]), gate_bias(&b[gates * h..]));
        let (y, yh) = (node.outputs.first().filter(|n| self.used(n)), node.outputs.get(1).filter(|n| self.used(n)));
        if node.outputs.get(2).is_some_and(|n| self.used(n)) {
            return Err(refuse(node, "its cell state output is used"));
        }
        let sequence = match (y, yh) {
            (Some(_), None) => true,
            (None, _) => false,
            (Some(_), Some(_)) => return Err(refuse(node, "both its sequence and its last state are used")),
        };
        let w_ih = self.tensor("w_ih", vec![a.c, gates * h], reorder(&w.floats(), a.c));
        let w_hh = self.tensor("w_hh", vec![h, gates * h], reorder(&r.floats(), h));
        let spec = if lstm {
            let sum: Vec<f32> = wb.iter().zip(&rb).map(|(x, y)| x + y).collect();
            let bias = self.tensor("bias", vec![gates * h], sum);
            LayerSpec::Lstm { w_ih, w_hh, bias, sequence }
        } else {
            let b_ih = self.tensor("b_ih", vec![gates * h], wb);
            let b_hh = self.tensor("b_hh", vec![gates * h], rb);
            LayerSpec::Gru { w_ih, w_hh, b_ih, b_hh, sequence }
        };
        self.push(spec);
        // Y: [T, dirs, B, H] (layout 0) or [B, T, dirs, H]; Y_h: [dirs, B, H] or [B, dirs, H].
        let (ya, hha) = if layout == 0 {
            (vec![Ax::T, Ax::U, Ax::B, Ax::C], vec![Ax::U, Ax::B, Ax::C])
        } else {
            (vec![Ax::B, Ax::T, Ax::U, Ax::C], vec![Ax::B, Ax::U, Ax::C])
        };
        let t = if sequence { a.t } else { 1 };
        let out = |axes| Val::A(Act { axes, t, c: h, version: self.version });
        if sequence {
            self.set(node, 0, out(ya));
        } else {
            self.set(node, 1, out(hha));
        }
        Ok(())
    }

    /// A scalar or one-element index into the steps (the last) or a unit axis.
    fn index_on(&mut self, node: &Node, a: &Act, ax: usize, start: i64, keep: bool) -> Result<Act> {
        let mut out = a.clone();
        match a.axes[ax] {
            Ax::U if start == 0 || start == -1 => {}
            Ax::T if a.t == 1 && (start == 0 || start == -1) => {}
            Ax::T if start == -1 || start == a.t as i64 - 1 => {
                self.push(LayerSpec::LastStep);
                out = Act { t: 1, version: self.version, ..out };
            }
            _ => return Err(refuse(node, format!("takes index {start} of an axis other than the last step"))),
        }
        if !keep {
            out.axes.remove(ax);
        }
        Ok(out)
    }

    fn gather(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        let idx = self.konst(node, 1)?;
        let ax = axis(node.int("axis", 0), a.axes.len()).ok_or_else(|| refuse(node, "axis"))?;
        let [start] = idx.ints()[..] else {
            return Err(refuse(node, "gathers more than one index"));
        };
        let out = self.index_on(node, &a, ax, start, !idx.dims.is_empty())?;
        self.set(node, 0, Val::A(out));
        Ok(())
    }

    fn slice(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        let (starts, ends, axes, steps) = if node.input(1).is_some() {
            let axes = self.opt_konst(node, 3)?.map(|t| t.ints());
            let steps = self.opt_konst(node, 4)?.map(|t| t.ints());
            (self.konst(node, 1)?.ints(), self.konst(node, 2)?.ints(), axes, steps)
        } else {
            (node.ints("starts").unwrap_or_default(), node.ints("ends").unwrap_or_default(), node.ints("axes"), None)
        };
        let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
        if steps.is_some_and(|s| s.iter().any(|&x| x != 1)) || axes.len() != starts.len() || ends.len() != starts.len()
        {
            return Err(refuse(node, "a strided slice"));
        }
        let dims = a.dims(self.batch);
        let mut out = a.clone();
        for ((&s, &e), &x) in starts.iter().zip(&ends).zip(&axes) {
            let ax = axis(x, dims.len()).ok_or_else(|| refuse(node, "axis"))?;
            let d = dims[ax] as i64;
            let clamp = |v: i64| if v < 0 { (v + d).max(0) } else { v.min(d) };
            let (s, e) = (clamp(s), clamp(e));
            if s == 0 && e == d {
                continue;
            }
            match out.axes[ax] {
                Ax::T if s == d - 1 && e == d => out = self.index_on(node, &out, ax, -1, true)?,
                Ax::T if s == 0 && e > 0 => {
                    self.push(LayerSpec::Crop { steps: e as usize });
                    out = Act { t: e as usize, version: self.version, ..out };
                }
                _ => return Err(refuse(node, format!("slices {s}..{e} of axis {ax}"))),
            }
        }
        self.set(node, 0, Val::A(out));
        Ok(())
    }

    /// A single step repeated along the steps (an autoencoder's decoder input).
    fn tile(&mut self, node: &Node) -> Result<()> {
        let a = self.act(node, 0)?;
        let reps = self.konst(node, 1)?.ints();
        let many: Vec<usize> = (0..reps.len()).filter(|&i| reps[i] != 1).collect();
        let at = match many[..] {
            [i] if reps.len() == a.axes.len() && reps[i] > 1 && a.t == 1 => Some(i),
            _ => None,
        };
        // The repeated axis is the steps, or a unit axis where the steps are left out.
        let Some(i) = at.filter(|&i| a.axes[i] == Ax::T || (a.axes[i] == Ax::U && !a.has(Ax::T))) else {
            return Err(refuse(node, "tiles other than one step along the steps"));
        };
        let steps =
            usize::try_from(reps[i]).ok().filter(|&s| s <= MAX_WINDOW).ok_or_else(|| refuse(node, "repeats"))?;
        self.push(LayerSpec::Repeat { steps });
        let mut axes = a.axes.clone();
        axes[i] = Ax::T;
        self.set(node, 0, Val::A(Act { axes, t: steps, version: self.version, ..a }));
        Ok(())
    }

    /// Shape arithmetic on constants, as exporters emit it.
    fn fold(&self, node: &Node) -> Result<Tensor> {
        let k = |i| self.konst(node, i);
        let out = match node.op.as_str() {
            "Identity" | "Cast" => k(0)?,
            "Shape" => ints(&k(0)?.dims.iter().map(|&d| d as i64).collect::<Vec<_>>()),
            "ConstantOfShape" => {
                let dims: Vec<usize> = k(0)?.ints().iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
                let n = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS);
                let n = n.ok_or_else(|| refuse(node, format!("a constant of shape {dims:?}")))?;
                let value = node.attr("value").and_then(|a| a.t.clone());
                let data = match value.map(|t| t.data) {
                    Some(Data::I(v)) => Data::I(vec![v.first().copied().unwrap_or(0); n]),
                    Some(Data::F(v)) => Data::F(vec![v.first().copied().unwrap_or(0.0); n]),
                    None => Data::F(vec![0.0; n]),
                };
                Tensor { dims, data }
            }
            "Expand" => {
                let (t, shape) = (k(0)?, k(1)?.ints());
                let to: Vec<usize> = shape.iter().map(|&d| usize::try_from(d.max(1)).unwrap_or(usize::MAX)).collect();
                broadcast(&t, &to).ok_or_else(|| refuse(node, format!("expands {:?} to {to:?}", t.dims)))?
            }
            "Slice" => {
                let (t, s, e) = (k(0)?, k(1)?.ints(), k(2)?.ints());
                if t.dims.len() != 1 || s.len() != 1 || e.len() != 1 {
                    return Err(refuse(node, "slices a constant of more than one axis"));
                }
                let v = t.ints();
                let d = v.len() as i64;
                let clamp = |x: i64| if x < 0 { (x + d).max(0) } else { x.min(d) } as usize;
                let (s, e) = (clamp(s[0]), clamp(e[0]));
                ints(&v[s..e.max(s)])
            }
            "Concat" => {
                let mut v = Vec::new();
                for i in 0..node.inputs.len() {
                    v.extend(k(i)?.ints());
                }
                ints(&v)
            }
            "Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => {
                let t = k(0)?;
                let n = t.len();
                Tensor { dims: if n == 1 { vec![1] } else { vec![n] }, data: t.data }
            }
            "Gather" => {
                let (t, idx) = (k(0)?, k(1)?);
                let v = t.ints();
                let picked: Option<Vec<i64>> = idx.ints().iter().map(|&i| axis(i, v.len()).map(|i| v[i])).collect();
                let picked = picked.ok_or_else(|| refuse(node, "index out of range"))?;
                Tensor { dims: idx.dims.clone(), data: Data::I(picked) }
            }
            "Transpose" => {
                let t = k(0)?;
                if t.dims.len() != 2 {
                    return Err(refuse(node, "a constant transpose of other than a matrix"));
                }
                let (r, c) = (t.dims[0], t.dims[1]);
                let v = t.floats();
                Tensor { dims: vec![c, r], data: Data::F((0..r * c).map(|at| v[(at % r) * c + at / r]).collect()) }
            }
            op @ ("Add" | "Sub" | "Mul" | "Div") => {
                let (a, b) = (k(0)?, k(1)?);
                let (x, y) = (a.floats(), b.floats());
                if x.len() != y.len() && y.len() != 1 && x.len() != 1 {
                    return Err(refuse(node, "constant arithmetic of other than equal shapes or a scalar"));
                }
                let n = x.len().max(y.len());
                let at = |v: &[f32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                let v: Vec<f32> = (0..n)
                    .map(|i| match op {
                        "Add" => at(&x, i) + at(&y, i),
                        "Sub" => at(&x, i) - at(&y, i),
                        "Mul" => at(&x, i) * at(&y, i),
                        _ => at(&x, i) / at(&y, i),
                    })
                    .collect();
                let dims = if x.len() >= y.len() { a.dims } else { b.dims };
                let ints_in = matches!(a.data, Data::I(_)) && matches!(b.data, Data::I(_));
                Tensor { dims, data: if ints_in { Data::I(v.iter().map(|&f| f as i64).collect()) } else { Data::F(v) } }
            }
            other => return Err(refuse(node, format!("{other} on constants is not folded"))),
        };
        Ok(out)
    }
}

/// `t` broadcast to `to` (numpy's rule, right-aligned), `None` where the shapes do not broadcast.
fn broadcast(t: &Tensor, to: &[usize]) -> Option<Tensor> {
    let rank = t.dims.len().max(to.len());
    let pad =
        |d: &[usize]| -> Vec<usize> { core::iter::repeat_n(1, rank - d.len()).chain(d.iter().copied()).collect() };
    let (from, to) = (pad(&t.dims), pad(to));
    let dims: Vec<usize> = from.iter().zip(&to).map(|(&a, &b)| if a == 1 { b } else { a }).collect();
    if from.iter().zip(&dims).any(|(&a, &d)| a != 1 && a != d) {
        return None;
    }
    let n = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS)?;
    let source = |mut at: usize| -> usize {
        let (mut src, mut stride) = (0, 1);
        for i in (0..rank).rev() {
            let idx = at % dims[i];
            at /= dims[i];
            if from[i] != 1 {
                src += idx * stride;
            }
            stride *= from[i];
        }
        src
    };
    let data = match &t.data {
        Data::I(v) => Data::I((0..n).map(|i| v[source(i)]).collect()),
        Data::F(v) => Data::F((0..n).map(|i| v[source(i)]).collect()),
    };
    Some(Tensor { dims, data })
}

fn unsqueeze(node: &Node, a: &Act, list: Option<Vec<i64>>) -> Result<Act> {
    let list = list.ok_or_else(|| refuse(node, "no axes"))?;
    let rank = a.axes.len() + list.len();
    let mut at: Vec<usize> =
        list.iter().map(|&x| axis(x, rank)).collect::<Option<Vec<_>>>().ok_or_else(|| refuse(node, "axes"))?;
    at.sort_unstable();
    let mut axes = a.axes.clone();
    for i in at {
        axes.insert(i.min(axes.len()), Ax::U);
    }
    Ok(Act { axes, ..a.clone() })
}

/// The constant as one value per channel of `a` (broadcast along every other axis), if it is.
fn per_channel(a: &Act, k: &Tensor, batch: usize) -> Option<Vec<f32>> {
    let v = k.floats();
    if v.len() == 1 {
        return Some(vec![v[0]; a.c]);
    }
    let dims = a.dims(batch);
    let ci = a.axes.iter().position(|&x| x == Ax::C)?;
    // Right-aligned broadcast: every axis of k but the channels' is 1.
    let off = dims.len().checked_sub(k.dims.len())?;
    let ok = k.dims.iter().enumerate().all(|(i, &d)| if i + off == ci { d == a.c } else { d == 1 });
    (ok && v.len() == a.c).then_some(v)
}

fn constant(node: &Node) -> Result<Tensor> {
    let a = node.attrs.first().ok_or_else(|| refuse(node, "no value"))?;
    Ok(match a.name.as_str() {
        "value" => a.t.clone().ok_or_else(|| refuse(node, "value is not a tensor"))?,
        "value_float" => Tensor { dims: vec![], data: Data::F(vec![a.f.unwrap_or(0.0)]) },
        "value_floats" => Tensor { dims: vec![a.floats.len()], data: Data::F(a.floats.clone()) },
        "value_int" => Tensor { dims: vec![], data: Data::I(vec![a.i.unwrap_or(0)]) },
        "value_ints" => ints(&a.ints),
        other => return Err(refuse(node, format!("a constant given as {other}"))),
    })
}

/// Maps an ONNX model onto the runtime. Its one input is `[batch, steps, features]` windows of raw or scaled
/// readings; `steps` gives the window where the file leaves it open (and must agree where it does not).
pub fn from_onnx(bytes: &[u8], steps: Option<usize>) -> Result<Imported> {
    let model = proto::model(bytes)?;
    let g = &model.graph;
    let init_names: Vec<&str> = g.initializers.iter().map(|(n, _)| n.as_str()).collect();
    let inputs: Vec<_> = g.inputs.iter().filter(|v| !init_names.contains(&v.name.as_str())).collect();
    let [input] = inputs[..] else {
        return Err(Error::invalid("ONNX graph", format!("{} inputs; one input of windows is mapped", inputs.len())));
    };
    let [output] = &g.outputs[..] else {
        return Err(Error::invalid("ONNX graph", format!("{} outputs; one is mapped", g.outputs.len())));
    };
    let [b, t, c] = input.dims[..] else {
        return Err(Error::invalid(
            format!("ONNX input '{}'", input.name),
            format!("{} axes; windows come as [batch, steps, features]", input.dims.len()),
        ));
    };
    let c = c.ok_or_else(|| Error::invalid(format!("ONNX input '{}'", input.name), "the features axis has no size"))?;
    let too_big = |d: Option<usize>| d.is_some_and(|d| d > MAX_WINDOW);
    if too_big(b) || too_big(t) || too_big(Some(c)) || too_big(steps) {
        return Err(Error::invalid(
            format!("ONNX input '{}'", input.name),
            format!("dimensions {:?} are too large", input.dims),
        ));
    }
    let t = match (t, steps) {
        (Some(t), Some(s)) if t != s => {
            return Err(Error::invalid(
                format!("ONNX input '{}'", input.name),
                format!("{t} steps, not the window's {s}"),
            ));
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => {
            return Err(Error::invalid(
                format!("ONNX input '{}'", input.name),
                "the steps axis is open: give the window",
            ));
        }
    };
    let mut m = Mapper {
        vals: BTreeMap::new(),
        uses: BTreeMap::new(),
        layers: Vec::new(),
        tensors: Vec::new(),
        version: 0,
        batch: b.unwrap_or(1),
        sigmoid: false,
        affine: (vec![0.0; c], vec![1.0; c]),
        at_input: true,
        notes: Vec::new(),
    };
    for (name, tensor) in &g.initializers {
        m.vals.insert(name.clone(), Val::K(tensor.clone()));
    }
    for n in &g.nodes {
        for i in n.inputs.iter().filter(|i| !i.is_empty()) {
            *m.uses.entry(i.clone()).or_default() += 1;
        }
    }
    *m.uses.entry(output.name.clone()).or_default() += 1;
    m.vals.insert(input.name.clone(), Val::A(Act { axes: vec![Ax::B, Ax::T, Ax::C], t, c, version: 0 }));
    for node in &g.nodes {
        m.step(node)?;
    }
    let out = match m.vals.get(&output.name) {
        Some(Val::A(a)) if a.version == m.version => a.clone(),
        Some(Val::A(_)) => return Err(Error::invalid("ONNX output", "is not the last layer's output")),
        _ => return Err(Error::invalid("ONNX output", "is a constant or not computed")),
    };
    if !out.in_order() {
        return Err(Error::invalid(
            "ONNX output",
            "its axes are not [batch, steps, values] (e.g. channels first); the runtime's output is steps-first",
        ));
    }
    if m.layers.is_empty() {
        return Err(Error::invalid("ONNX graph", "has no layer the runtime runs"));
    }
    let (offset, scale) = m.affine;
    let identity = offset.iter().all(|&o| o == 0.0) && scale.iter().all(|&s| s == 1.0);
    Ok(Imported {
        layers: m.layers,
        tensors: m.tensors,
        steps: t,
        features: c,
        output: (out.t, out.c),
        sigmoid: m.sigmoid,
        scaler: (!identity).then_some(Affine { offset, scale }),
        producer: model.producer,
        notes: m.notes,
    })
}

impl Imported {
    /// A model file of the mapped network: `header` gives the rest (name, features, scaler, score,
    /// threshold); its layers and steps are the graph's. `int8` stores the weight matrices as `i8`.
    pub fn to_file(&self, mut header: Header, int8: bool) -> Result<Vec<u8>> {
        if header.features.len() != self.features {
            return Err(Error::invalid(
                "features",
                format!("{} names for the graph's {} input values", header.features.len(), self.features),
            ));
        }
        header.layers = self.layers.clone();
        header.steps = self.steps;
        crate::format::to_bytes_with(&header, &self.tensors, int8)
    }

    /// A one-line description of the mapped network, e.g. `conv(3→64, k3, relu, pool 2) → lstm(50) → dense(1)`.
    pub fn summary(&self) -> String {
        self.layers
            .iter()
            .map(|l| match l {
                LayerSpec::Conv(c) => format!(
                    "conv(k{}{}{}{})",
                    c.kernel,
                    if c.dilation > 1 { format!(", dilation {}", c.dilation) } else { String::new() },
                    if c.relu { ", relu" } else { "" },
                    if c.pool > 1 { format!(", pool {}", c.pool) } else { String::new() }
                ),
                LayerSpec::Dense(d) => format!("dense{}", if d.relu { "(relu)" } else { "" }),
                LayerSpec::Lstm { sequence, .. } => format!("lstm{}", if *sequence { "(sequence)" } else { "" }),
                LayerSpec::Gru { sequence, .. } => format!("gru{}", if *sequence { "(sequence)" } else { "" }),
                LayerSpec::LastStep => "last-step".to_string(),
                LayerSpec::Flatten => "flatten".to_string(),
                LayerSpec::Unflatten { steps } => format!("unflatten({steps})"),
                LayerSpec::Crop { steps } => format!("crop({steps})"),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }
}
