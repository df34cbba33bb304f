//! A model file as a TFLite flatbuffer (schema version 3), for TFLite, LiteRT and TFLite Micro users: one
//! window `[1, steps, features]` of raw readings in, the scaler (`SUB`, `DIV`) and the network inside, the
//! runtime's outputs `[1, t, c]` out.
//!
//! Written from TFLite's schema (`schema.fbs`: Model, SubGraph, Tensor, Operator, Buffer) with a small
//! FlatBuffers writer of its own. Layers mapped: convolution blocks (`PAD`, `CONV_2D` over a unit height with
//! the ReLU fused, `MAX_POOL_2D`), dense layers (`FULLY_CONNECTED`, ReLU fused), LSTM
//! (`UNIDIRECTIONAL_SEQUENCE_LSTM`), TCN residual blocks (`ADD` with ReLU), additive attention (`TANH`,
//! `SOFTMAX`, `MUL`, `SUM`) and query/key/value attention (`BATCH_MATMUL`, `CONCATENATION`), the last step and
//! crop (`STRIDED_SLICE`), repeat (`TILE`), flatten and unflatten (`RESHAPE`). TFLite has no GRU operator, and
//! the transposed convolution is not mapped: each is refused by name.
//!
//! With `int8`, weight matrices are stored as `int8` with one scale per output channel (the runtime's int8
//! rule) and widened by `DEQUANTIZE` operators, so the file computes what the runtime's int8 file computes.

mod flat;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use flat::{T, V};

use crate::error::{Error, Result};
use crate::format::{ConvSpec, DenseSpec, Header, LayerSpec, Tensors};
use crate::net::Network;

// BuiltinOperator codes.
const ADD: i32 = 0;
const CONV_2D: i32 = 3;
const DEQUANTIZE: i32 = 6;
const FULLY_CONNECTED: i32 = 9;
const MAX_POOL_2D: i32 = 17;
const RESHAPE: i32 = 22;
const PAD: i32 = 34;
const SUB: i32 = 41;
const DIV: i32 = 42;
const LSTM: i32 = 44;
const STRIDED_SLICE: i32 = 45;
const TILE: i32 = 69;
const CONCATENATION: i32 = 2;
const MUL: i32 = 18;
const SOFTMAX: i32 = 25;
const TANH_OP: i32 = 28;
const SUM: i32 = 74;
const BATCH_MATMUL: i32 = 126;
// BuiltinOptions members.
const OPT_CONV: u8 = 1;
const OPT_POOL: u8 = 5;
const OPT_FC: u8 = 8;
const OPT_ADD: u8 = 11;
const OPT_RESHAPE: u8 = 17;
const OPT_SUB: u8 = 28;
const OPT_DIV: u8 = 29;
const OPT_STRIDED_SLICE: u8 = 32;
const OPT_LSTM: u8 = 71;
const OPT_SOFTMAX: u8 = 9;
const OPT_CONCAT: u8 = 10;
const OPT_MUL: u8 = 21;
const OPT_REDUCER: u8 = 27;
const OPT_BATCH_MATMUL: u8 = 101;
// TensorType, ActivationFunctionType, Padding.
const FLOAT32: i8 = 0;
const INT32: i8 = 2;
const INT8: i8 = 9;
const RELU: i8 = 1;
const TANH: i8 = 4;
const VALID: i8 = 1;

struct G {
    tensors: Vec<T>,
    buffers: Vec<Vec<u8>>,
    ops: Vec<T>,
    codes: Vec<i32>,
    int8: bool,
    /// The tensor the next layer reads, and its shape `[1, t, c]`.
    cur: i32,
    shape: [usize; 3],
}

fn dims(shape: &[usize]) -> Vec<i32> {
    shape.iter().map(|&d| d as i32).collect()
}

fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl G {
    fn tensor(&mut self, name: String, shape: &[usize], ty: i8, data: Option<Vec<u8>>, quant: Option<T>) -> i32 {
        let buffer = match data {
            Some(d) => {
                self.buffers.push(d);
                self.buffers.len() - 1
            }
            None => 0,
        };
        let mut t = T::default()
            .with(0, V::I32s(dims(shape)))
            .with(1, V::I8(ty))
            .with(2, V::U32(buffer as u32))
            .with(3, V::Str(name));
        if let Some(q) = quant {
            t = t.with(4, V::Table(q));
        }
        self.tensors.push(t);
        self.tensors.len() as i32 - 1
    }

    fn act(&mut self, shape: &[usize]) -> i32 {
        let n = self.tensors.len();
        self.tensor(format!("t{n}"), shape, FLOAT32, None, None)
    }

    fn variable(&mut self, shape: &[usize]) -> i32 {
        let n = self.tensors.len();
        let i = self.tensor(format!("state{n}"), shape, FLOAT32, None, None);
        let t = &mut self.tensors[i as usize];
        t.0.push((5, V::Bool(true)));
        i
    }

    fn ints(&mut self, values: &[i32]) -> i32 {
        let n = self.tensors.len();
        let data = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.tensor(format!("c{n}"), &[values.len()], INT32, Some(data), None)
    }

    fn floats(&mut self, shape: &[usize], values: &[f32]) -> i32 {
        let n = self.tensors.len();
        self.tensor(format!("c{n}"), shape, FLOAT32, Some(bytes_f32(values)), None)
    }

    /// A weight matrix `[rows, …]`, each row one output channel: f32, or int8 with one scale per row widened
    /// by a DEQUANTIZE.
    fn weights(&mut self, shape: &[usize], values: &[f32]) -> i32 {
        if !self.int8 {
            return self.floats(shape, values);
        }
        let per = values.len() / shape[0].max(1);
        let mut scales = Vec::with_capacity(shape[0]);
        let mut q = Vec::with_capacity(values.len());
        for row in values.chunks_exact(per.max(1)) {
            let s = row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            let s = if s > 0.0 { s } else { 1.0 };
            scales.push(s);
            q.extend(row.iter().map(|&v| (libm::roundf(v / s).clamp(-127.0, 127.0) as i8) as u8));
        }
        let n = self.tensors.len();
        let quant =
            T::default().with(2, V::F32s(scales.clone())).with(3, V::I64s(vec![0; scales.len()])).with(6, V::I32(0));
        let qi = self.tensor(format!("q{n}"), shape, INT8, Some(q), Some(quant));
        let out = self.act(shape);
        self.op(DEQUANTIZE, vec![qi], vec![out], None);
        out
    }

    fn op(&mut self, code: i32, inputs: Vec<i32>, outputs: Vec<i32>, options: Option<(u8, T)>) {
        let index = match self.codes.iter().position(|&c| c == code) {
            Some(i) => i,
            None => {
                self.codes.push(code);
                self.codes.len() - 1
            }
        };
        let mut op = T::default().with(0, V::U32(index as u32)).with(1, V::I32s(inputs)).with(2, V::I32s(outputs));
        if let Some((kind, table)) = options {
            op = op.with(3, V::U8(kind)).with(4, V::Table(table));
        }
        self.ops.push(op);
    }

    /// `code(cur, more…)` → a new tensor of `shape`, which becomes the current one.
    fn apply(&mut self, code: i32, more: &[i32], shape: [usize; 3], options: Option<(u8, T)>) {
        let out = self.act(&shape);
        let mut inputs = vec![self.cur];
        inputs.extend_from_slice(more);
        self.op(code, inputs, vec![out], options);
        (self.cur, self.shape) = (out, shape);
    }

    fn reshape_to(&mut self, shape: &[usize]) -> i32 {
        let s = self.ints(&dims(shape));
        let out = self.act(shape);
        let opts = T::default().with(0, V::I32s(dims(shape)));
        self.op(RESHAPE, vec![self.cur, s], vec![out], Some((OPT_RESHAPE, opts)));
        out
    }

    fn strided_slice(&mut self, begin: [usize; 3], end: [usize; 3]) {
        let (b, e, s) = (self.ints(&dims(&begin)), self.ints(&dims(&end)), self.ints(&[1, 1, 1]));
        let shape = [1, end[1] - begin[1], end[2] - begin[2]];
        self.apply(STRIDED_SLICE, &[b, e, s], shape, Some((OPT_STRIDED_SLICE, T::default())));
    }
}

fn matrix(t: &Tensors<'_>, name: &str) -> Result<(usize, usize, Vec<f32>)> {
    match t.get(name)? {
        (shape, v) if shape.len() == 2 => Ok((shape[0], shape[1], v)),
        (shape, _) => Err(Error::invalid(name, format!("shape {shape:?}, expected a matrix"))),
    }
}

/// Our `[k, n]` (column = output) as TFLite's `[n, k]` (row = output).
fn transposed(k: usize, n: usize, w: &[f32]) -> Vec<f32> {
    (0..n * k).map(|at| w[(at % k) * n + at / k]).collect()
}

fn conv(g: &mut G, t: &Tensors<'_>, s: &ConvSpec) -> Result<()> {
    let (rows, f, w) = matrix(t, &s.weight)?;
    let c = rows / s.kernel;
    let (_, bias) = t.get(&s.bias)?;
    if s.pad_left + s.pad_right > 0 {
        let pads = g.ints(&[0, 0, s.pad_left as i32, s.pad_right as i32, 0, 0]);
        let pads = {
            // PAD's paddings are a [3, 2] matrix.
            let t = &mut g.tensors[pads as usize];
            t.0[0] = (0, V::I32s(vec![3, 2]));
            pads
        };
        let shape = [1, g.shape[1] + s.pad_left + s.pad_right, g.shape[2]];
        g.apply(PAD, &[pads], shape, None);
    }
    let steps = g.shape[1];
    g.cur = g.reshape_to(&[1, 1, steps, c]);
    // Ours: row tap·c + channel, column filter. TFLite: [filter, 1, tap, channel].
    let mut filter = vec![0f32; f * s.kernel * c];
    for fi in 0..f {
        for tap in 0..s.kernel {
            for ch in 0..c {
                filter[(fi * s.kernel + tap) * c + ch] = w[(tap * c + ch) * f + fi];
            }
        }
    }
    let fw = g.weights(&[f, 1, s.kernel, c], &filter);
    let fb = g.floats(&[f], &bias);
    let span = (s.kernel - 1) * s.dilation + 1;
    let out_t = (steps - span) / s.stride + 1;
    let opts = T::default()
        .with(0, V::I8(VALID))
        .with(1, V::I32(s.stride as i32))
        .with(2, V::I32(1))
        .with(3, V::I8(if s.relu { RELU } else { 0 }))
        .with(4, V::I32(s.dilation as i32))
        .with(5, V::I32(1));
    let out = g.act(&[1, 1, out_t, f]);
    g.op(CONV_2D, vec![g.cur, fw, fb], vec![out], Some((OPT_CONV, opts)));
    g.cur = out;
    let mut t_now = out_t;
    if s.pool > 1 {
        t_now = out_t / s.pool;
        let opts = T::default()
            .with(0, V::I8(VALID))
            .with(1, V::I32(s.pool as i32))
            .with(2, V::I32(1))
            .with(3, V::I32(s.pool as i32))
            .with(4, V::I32(1));
        let pooled = g.act(&[1, 1, t_now, f]);
        g.op(MAX_POOL_2D, vec![g.cur], vec![pooled], Some((OPT_POOL, opts)));
        g.cur = pooled;
    }
    g.cur = g.reshape_to(&[1, t_now, f]);
    g.shape = [1, t_now, f];
    Ok(())
}

fn dense(g: &mut G, t: &Tensors<'_>, s: &DenseSpec) -> Result<()> {
    let (k, n, w) = matrix(t, &s.weight)?;
    let (_, b) = t.get(&s.bias)?;
    let wi = g.weights(&[n, k], &transposed(k, n, &w));
    let bi = g.floats(&[n], &b);
    let opts = T::default().with(0, V::I8(if s.relu { RELU } else { 0 })).with(2, V::Bool(true));
    let shape = [1, g.shape[1], n];
    g.apply(FULLY_CONNECTED, &[wi, bi], shape, Some((OPT_FC, opts)));
    Ok(())
}

fn lstm(g: &mut G, t: &Tensors<'_>, w_ih: &str, w_hh: &str, bias: &str, sequence: bool) -> Result<()> {
    let (k, n4, wi) = matrix(t, w_ih)?;
    let (h, _, wh) = matrix(t, w_hh)?;
    let (_, b) = t.get(bias)?;
    if n4 != 4 * h {
        return Err(Error::invalid("lstm", "kernels are not [_, 4·hidden]"));
    }
    // One gate's block of our [rows, 4h] matrix as TFLite's [h, rows]; ours i, f, g, o = TFLite's i, f, c, o.
    let gate = |w: &[f32], rows: usize, gi: usize| -> Vec<f32> {
        (0..h * rows).map(|at| w[(at % rows) * n4 + gi * h + at / rows]).collect()
    };
    let mut inputs = vec![g.cur];
    for gi in 0..4 {
        let m = gate(&wi, k, gi);
        inputs.push(g.weights(&[h, k], &m));
    }
    for gi in 0..4 {
        let m = gate(&wh, h, gi);
        inputs.push(g.weights(&[h, h], &m));
    }
    inputs.extend([-1, -1, -1]);
    for gi in 0..4 {
        inputs.push(g.floats(&[h], &b[gi * h..(gi + 1) * h]));
    }
    inputs.extend([-1, -1]);
    let (hs, cs) = (g.variable(&[1, h]), g.variable(&[1, h]));
    inputs.extend([hs, cs, -1, -1, -1, -1]);
    let steps = g.shape[1];
    let out = g.act(&[1, steps, h]);
    let opts = T::default().with(0, V::I8(TANH)).with(3, V::Bool(false));
    g.op(LSTM, inputs, vec![out], Some((OPT_LSTM, opts)));
    (g.cur, g.shape) = (out, [1, steps, h]);
    if !sequence {
        g.strided_slice([0, steps - 1, 0], [1, steps, h]);
    }
    Ok(())
}

/// `x·W (+ b)` over the last axis of the current tensor, into a new tensor (the current one is kept).
fn project(g: &mut G, x: i32, steps: usize, w: (usize, usize, Vec<f32>), b: Option<&[f32]>) -> i32 {
    let (k, n, wv) = w;
    let wi = g.weights(&[n, k], &transposed(k, n, &wv));
    let bi = b.map_or(-1, |b| g.floats(&[n], b));
    let out = g.act(&[1, steps, n]);
    let opts = T::default().with(0, V::I8(0)).with(2, V::Bool(true));
    g.op(FULLY_CONNECTED, vec![x, wi, bi], vec![out], Some((OPT_FC, opts)));
    out
}

/// A softmax over the steps of `[1, t, 1]` scores (TFLite's runs over the last axis).
fn softmax_steps(g: &mut G, scores: i32, t: usize) -> i32 {
    g.cur = scores;
    let flat = g.reshape_to(&[1, t]);
    let alpha = g.act(&[1, t]);
    g.op(SOFTMAX, vec![flat], vec![alpha], Some((OPT_SOFTMAX, T::default().with(0, V::F32(1.0)))));
    g.cur = alpha;
    g.reshape_to(&[1, t, 1])
}

/// Additive attention: `e = tanh(x·W + b)·v`, `α = softmax(e)` over the steps, context `Σ α·x`: `[1, 1, d]`.
fn additive(g: &mut G, t: &Tensors<'_>, w: &str, b: &str, v: &str) -> Result<()> {
    let [_, steps, d] = g.shape;
    let x = g.cur;
    let w = matrix(t, w)?;
    let a = w.1;
    let ((_, bv), (_, vv)) = (t.get(b)?, t.get(v)?);
    let z = project(g, x, steps, w, Some(&bv));
    let th = g.act(&[1, steps, a]);
    g.op(TANH_OP, vec![z], vec![th], None);
    let e = project(g, th, steps, (a, 1, vv), None);
    let alpha = softmax_steps(g, e, steps);
    let weighted = g.act(&[1, steps, d]);
    g.op(MUL, vec![x, alpha], vec![weighted], Some((OPT_MUL, T::default())));
    let axis = g.ints(&[1]);
    let out = g.act(&[1, 1, d]);
    g.op(SUM, vec![weighted, axis], vec![out], Some((OPT_REDUCER, T::default().with(0, V::Bool(true)))));
    (g.cur, g.shape) = (out, [1, 1, d]);
    Ok(())
}

/// Query/key/value attention with the last step as the query; output the context, then the last step:
/// `[1, 1, key + d]`.
fn qkv(g: &mut G, t: &Tensors<'_>, wq: &str, wk: &str, wv: &str) -> Result<()> {
    let [_, steps, d] = g.shape;
    let x = g.cur;
    let (q, k, v) = (matrix(t, wq)?, matrix(t, wk)?, matrix(t, wv)?);
    let key = q.1;
    g.strided_slice([0, steps - 1, 0], [1, steps, d]);
    let last = g.cur;
    let query = project(g, last, 1, q, None);
    let keys = project(g, x, steps, k, None);
    let values = project(g, x, steps, v, None);
    let scores = g.act(&[1, 1, steps]);
    let adj_y = T::default().with(0, V::Bool(false)).with(1, V::Bool(true));
    g.op(BATCH_MATMUL, vec![query, keys], vec![scores], Some((OPT_BATCH_MATMUL, adj_y)));
    let scale = g.floats(&[1], &[1.0 / libm::sqrtf(key as f32)]);
    let scaled = g.act(&[1, 1, steps]);
    g.op(MUL, vec![scores, scale], vec![scaled], Some((OPT_MUL, T::default())));
    let alpha = g.act(&[1, 1, steps]);
    g.op(SOFTMAX, vec![scaled], vec![alpha], Some((OPT_SOFTMAX, T::default().with(0, V::F32(1.0)))));
    let context = g.act(&[1, 1, key]);
    let plain = T::default().with(0, V::Bool(false)).with(1, V::Bool(false));
    g.op(BATCH_MATMUL, vec![alpha, values], vec![context], Some((OPT_BATCH_MATMUL, plain)));
    let out = g.act(&[1, 1, key + d]);
    g.op(CONCATENATION, vec![context, last], vec![out], Some((OPT_CONCAT, T::default().with(0, V::I32(2)))));
    (g.cur, g.shape) = (out, [1, 1, key + d]);
    Ok(())
}

fn layer(g: &mut G, t: &Tensors<'_>, spec: &LayerSpec) -> Result<()> {
    match spec {
        LayerSpec::Conv(s) => conv(g, t, s),
        LayerSpec::Dense(s) => dense(g, t, s),
        LayerSpec::Lstm { w_ih, w_hh, bias, sequence } => lstm(g, t, w_ih, w_hh, bias, *sequence),
        LayerSpec::TemporalBlock { conv1, conv2, skip } => {
            let (input, input_shape) = (g.cur, g.shape);
            conv(g, t, conv1)?;
            conv(g, t, conv2)?;
            let main = g.cur;
            let side = match skip {
                Some(d) => {
                    (g.cur, g.shape) = (input, input_shape);
                    dense(g, t, d)?;
                    g.cur
                }
                None => input,
            };
            let shape = [1, input_shape[1], g.shape[2]];
            let out = g.act(&shape);
            g.op(ADD, vec![main, side], vec![out], Some((OPT_ADD, T::default().with(0, V::I8(RELU)))));
            (g.cur, g.shape) = (out, shape);
            Ok(())
        }
        LayerSpec::LastStep => {
            let [_, steps, c] = g.shape;
            g.strided_slice([0, steps - 1, 0], [1, steps, c]);
            Ok(())
        }
        LayerSpec::Crop { steps } => {
            let c = g.shape[2];
            g.strided_slice([0, 0, 0], [1, *steps, c]);
            Ok(())
        }
        LayerSpec::Repeat { steps } => {
            let m = g.ints(&[1, *steps as i32, 1]);
            let shape = [1, *steps, g.shape[2]];
            g.apply(TILE, &[m], shape, None);
            Ok(())
        }
        LayerSpec::Flatten => {
            let shape = [1, 1, g.shape[1] * g.shape[2]];
            g.cur = g.reshape_to(&shape);
            g.shape = shape;
            Ok(())
        }
        LayerSpec::Unflatten { steps } => {
            let shape = [1, *steps, g.shape[2] / steps];
            g.cur = g.reshape_to(&shape);
            g.shape = shape;
            Ok(())
        }
        LayerSpec::Additive { w, b, v } => additive(g, t, w, b, v),
        LayerSpec::Qkv { wq, wk, wv } => qkv(g, t, wq, wk, wv),
        LayerSpec::Gru { .. } => Err(Error::invalid(
            "layers",
            "TFLite has no GRU operator (its converter unrolls GRUs into loops); export ONNX for a GRU",
        )),
        other => Err(Error::invalid("layers", format!("TFLite export does not map the {} layer yet", op_name(other)))),
    }
}

fn op_name(spec: &LayerSpec) -> String {
    serde_json::to_value(spec)
        .ok()
        .and_then(|v| v.get("op").and_then(|o| o.as_str()).map(ToString::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// The TFLite model of a model file's header and tensors (input `input`, output `output`, batch 1).
pub fn to_tflite(header: &Header, tensors: &Tensors<'_>, int8: bool) -> Result<Vec<u8>> {
    // The runtime's build checks every tensor's shape and how the layers chain.
    let (t_out, c_out) = Network::from_header(header, tensors)?.output_shape();
    let c0 = header.features.len();
    let mut g = G {
        tensors: Vec::new(),
        buffers: vec![Vec::new()],
        ops: Vec::new(),
        codes: Vec::new(),
        int8,
        cur: 0,
        shape: [1, header.steps, c0],
    };
    let input = g.tensor("input".into(), &[1, header.steps, c0], FLOAT32, None, None);
    g.cur = input;
    let offset: Vec<f32> = header.scaler.offset.iter().map(|&v| v as f32).collect();
    let scale: Vec<f32> = header.scaler.scale.iter().map(|&v| v as f32).collect();
    let (o, s) = (g.floats(&[c0], &offset), g.floats(&[c0], &scale));
    let shape = g.shape;
    g.apply(SUB, &[o], shape, Some((OPT_SUB, T::default())));
    g.apply(DIV, &[s], shape, Some((OPT_DIV, T::default())));
    for spec in &header.layers {
        layer(&mut g, tensors, spec)?;
    }
    if g.shape != [1, t_out, c_out] {
        return Err(Error::invalid(
            "layers",
            format!("TFLite graph ends in {:?}, the network in [1, {t_out}, {c_out}]", g.shape),
        ));
    }
    let output = g.cur;
    g.tensors[output as usize].0.retain(|(slot, _)| *slot != 3);
    g.tensors[output as usize].0.push((3, V::Str("output".into())));
    let codes = g
        .codes
        .iter()
        .map(|&c| T::default().with(0, V::I8(c.min(127) as i8)).with(2, V::I32(1)).with(3, V::I32(c)))
        .collect();
    let subgraph = T::default()
        .with(0, V::Tables(g.tensors))
        .with(1, V::I32s(vec![input]))
        .with(2, V::I32s(vec![output]))
        .with(3, V::Tables(g.ops))
        .with(4, V::Str(header.name.clone()));
    let buffers = g
        .buffers
        .into_iter()
        .map(|d| if d.is_empty() { T::default() } else { T::default().with(0, V::Bytes(d)) })
        .collect();
    let model = T::default()
        .with(0, V::U32(3))
        .with(1, V::Tables(codes))
        .with(2, V::Tables(vec![subgraph]))
        .with(3, V::Str(format!("{} (telltale)", header.producer)))
        .with(4, V::Tables(buffers));
    Ok(flat::finish(&model, b"TFL3"))
}
