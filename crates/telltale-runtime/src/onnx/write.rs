//! The writer: a model file's header and tensors as an ONNX graph.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::format::{ConvSpec, DenseSpec, Header, LayerSpec, Tensors};
use crate::net::Network;

use super::{FLOAT, INT64};

const ATTR_INT: u64 = 2;
const ATTR_INTS: u64 = 7;
/// Attributes that are one integer; the others this writer sets are integer lists.
const INT_ATTRIBUTES: [&str; 4] = ["hidden_size", "linear_before_reset", "axis", "keepdims"];

/// A protobuf message being written.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u64, wire: u64) {
        self.varint(field << 3 | wire);
    }

    fn int(&mut self, field: u64, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    fn bytes(&mut self, field: u64, b: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    fn str(&mut self, field: u64, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    fn msg(&mut self, field: u64, m: Pb) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

/// The graph as it is built: nodes, weights, and the name of the tensor the next layer reads.
struct Graph {
    nodes: Vec<Pb>,
    inits: Vec<Pb>,
    count: usize,
    cur: String,
}

impl Graph {
    fn name(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}_{}", self.count)
    }

    /// A weight (TensorProto: dims, data_type, name, raw_data little-endian); gives its name.
    fn init(&mut self, what: &str, dims: &[usize], data_type: u64, raw: &[u8]) -> String {
        let name = self.name(what);
        let mut t = Pb::default();
        for &d in dims {
            t.int(1, d as i64);
        }
        t.int(2, data_type as i64).str(8, &name).bytes(9, raw);
        self.inits.push(t);
        name
    }

    fn init_f32(&mut self, what: &str, dims: &[usize], values: &[f32]) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.init(what, dims, FLOAT, &raw)
    }

    fn init_i64(&mut self, what: &str, values: &[i64]) -> String {
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.init(what, &[values.len()], INT64, &raw)
    }

    /// Adds `op(inputs) → outputs` with integer(-list) attributes; gives the first output.
    fn node(&mut self, op: &str, inputs: &[&str], outputs: usize, attrs: &[(&str, &[i64])]) -> String {
        let outs: Vec<String> = (0..outputs).map(|_| self.name(op)).collect();
        self.node_to(op, inputs, &outs.iter().map(String::as_str).collect::<Vec<_>>(), attrs);
        outs[0].clone()
    }

    fn node_to(&mut self, op: &str, inputs: &[&str], outputs: &[&str], attrs: &[(&str, &[i64])]) {
        let mut n = Pb::default();
        for i in inputs {
            n.str(1, i);
        }
        for o in outputs {
            n.str(2, o);
        }
        let name = self.name(&format!("{op}_node"));
        n.str(3, &name).str(4, op);
        for (key, values) in attrs {
            let mut a = Pb::default();
            a.str(1, key);
            if let [v] = values
                && INT_ATTRIBUTES.contains(key)
            {
                a.int(3, *v).int(20, ATTR_INT as i64);
            } else {
                for v in *values {
                    a.int(8, *v);
                }
                a.int(20, ATTR_INTS as i64);
            }
            n.msg(5, a);
        }
        self.nodes.push(n);
    }

    /// `op` on the current tensor (then `more` inputs); its output becomes the current tensor.
    fn apply(&mut self, op: &str, more: &[&str], attrs: &[(&str, &[i64])]) {
        let cur = core::mem::take(&mut self.cur);
        let mut inputs = vec![cur.as_str()];
        inputs.extend_from_slice(more);
        self.cur = self.node(op, &inputs, 1, attrs);
    }

    /// `[a, b, c]` → the axes in `perm`.
    fn transpose(&mut self, perm: &[i64]) {
        self.apply("Transpose", &[], &[("perm", perm)]);
    }

    fn relu(&mut self) {
        self.apply("Relu", &[], &[]);
    }
}

fn matrix(t: &Tensors<'_>, name: &str) -> Result<(usize, usize, Vec<f32>)> {
    match t.get(name)? {
        (shape, v) if shape.len() == 2 => Ok((shape[0], shape[1], v)),
        (shape, _) => Err(Error::invalid(name, format!("shape {shape:?}, expected a matrix"))),
    }
}

/// A convolution block; its input width is its weight's rows over the taps (the runtime's build checked them).
fn conv(g: &mut Graph, t: &Tensors<'_>, s: &ConvSpec) -> Result<()> {
    let (rows, f, w) = matrix(t, &s.weight)?;
    let c = rows / s.kernel;
    // Ours: row tap·c + channel, column filter. ONNX: [filter, channel, tap].
    let mut onnx = vec![0f32; f * c * s.kernel];
    for tap in 0..s.kernel {
        for ch in 0..c {
            for fi in 0..f {
                onnx[(fi * c + ch) * s.kernel + tap] = w[(tap * c + ch) * f + fi];
            }
        }
    }
    let (_, b) = t.get(&s.bias)?;
    let wn = g.init_f32("conv_w", &[f, c, s.kernel], &onnx);
    let bn = g.init_f32("conv_b", &[f], &b);
    g.transpose(&[0, 2, 1]);
    let (k, st, d) = (s.kernel as i64, s.stride as i64, s.dilation as i64);
    let pads = [s.pad_left as i64, s.pad_right as i64];
    g.apply("Conv", &[&wn, &bn], &[("kernel_shape", &[k]), ("strides", &[st]), ("dilations", &[d]), ("pads", &pads)]);
    if s.relu {
        g.relu();
    }
    if s.pool > 1 {
        let p = s.pool as i64;
        g.apply("MaxPool", &[], &[("kernel_shape", &[p]), ("strides", &[p])]);
    }
    g.transpose(&[0, 2, 1]);
    Ok(())
}

fn dense(g: &mut Graph, t: &Tensors<'_>, s: &DenseSpec) -> Result<()> {
    let (k, n, w) = matrix(t, &s.weight)?;
    let (_, b) = t.get(&s.bias)?;
    let wn = g.init_f32("dense_w", &[k, n], &w);
    let bn = g.init_f32("dense_b", &[n], &b);
    g.apply("MatMul", &[&wn], &[]);
    g.apply("Add", &[&bn], &[]);
    if s.relu {
        g.relu();
    }
    Ok(())
}

/// An ONNX recurrent layer from ours: `gates` maps ONNX's gate order to ours; `[input, G·h]` matrices become
/// `[1, G·h, input]`; `biases` are ONNX's `Wb` and `Rb`.
#[allow(clippy::too_many_arguments)]
fn recurrent(
    g: &mut Graph,
    op: &str,
    w_ih: (usize, usize, Vec<f32>),
    w_hh: (usize, usize, Vec<f32>),
    biases: [&[f32]; 2],
    gates: &[usize],
    sequence: bool,
    extra: &[(&str, &[i64])],
) -> Result<()> {
    let n = gates.len();
    let h = w_hh.0;
    let reorder = |(rows, cols, w): &(usize, usize, Vec<f32>)| -> Vec<f32> {
        let mut out = vec![0f32; cols * rows];
        for (og, &ours) in gates.iter().enumerate() {
            for u in 0..h {
                for r in 0..*rows {
                    out[(og * h + u) * rows + r] = w[r * cols + ours * h + u];
                }
            }
        }
        out
    };
    let bias = |b: &[f32]| -> Vec<f32> {
        let mut out = vec![0f32; n * h];
        for (og, &ours) in gates.iter().enumerate() {
            out[og * h..(og + 1) * h].copy_from_slice(&b[ours * h..(ours + 1) * h]);
        }
        out
    };
    let w = g.init_f32(&format!("{op}_w"), &[1, n * h, w_ih.0], &reorder(&w_ih));
    let r = g.init_f32(&format!("{op}_r"), &[1, n * h, h], &reorder(&w_hh));
    let mut b = bias(biases[0]);
    b.extend(bias(biases[1]));
    let bn = g.init_f32(&format!("{op}_b"), &[1, 2 * n * h], &b);
    g.transpose(&[1, 0, 2]);
    let cur = g.cur.clone();
    let (y, yh) = (g.name(&format!("{op}_y")), g.name(&format!("{op}_yh")));
    let mut attrs: Vec<(&str, &[i64])> = extra.to_vec();
    let hidden = [h as i64];
    attrs.push(("hidden_size", &hidden));
    g.node_to(op, &[&cur, &w, &r, &bn], &[&y, &yh], &attrs);
    if sequence {
        // Y is [steps, directions, batch, hidden].
        let axes = g.init_i64("axes", &[1]);
        g.cur = g.node("Squeeze", &[&y, &axes], 1, &[]);
    } else {
        g.cur = yh;
    }
    g.transpose(&[1, 0, 2]);
    Ok(())
}

fn layer(g: &mut Graph, t: &Tensors<'_>, spec: &LayerSpec) -> Result<()> {
    match spec {
        LayerSpec::Conv(s) => conv(g, t, s),
        LayerSpec::Dense(s) => dense(g, t, s),
        LayerSpec::Lstm { w_ih, w_hh, bias, sequence } => {
            let (_, b) = t.get(bias)?;
            let zeros = vec![0f32; b.len()];
            // Ours i, f, g, o; ONNX i, o, f, c.
            recurrent(g, "LSTM", matrix(t, w_ih)?, matrix(t, w_hh)?, [&b, &zeros], &[0, 3, 1, 2], *sequence, &[])
        }
        LayerSpec::Gru { w_ih, w_hh, b_ih, b_hh, sequence } => {
            let ((_, bi), (_, bh)) = (t.get(b_ih)?, t.get(b_hh)?);
            // Ours z, r, n with the reset gate applied after the recurrent product: ONNX's linear_before_reset.
            let extra: [(&str, &[i64]); 1] = [("linear_before_reset", &[1])];
            recurrent(g, "GRU", matrix(t, w_ih)?, matrix(t, w_hh)?, [&bi, &bh], &[0, 1, 2], *sequence, &extra)
        }
        LayerSpec::TemporalBlock { conv1, conv2, skip } => {
            // relu(conv2(conv1(x)) + skip(x)), the skip a 1×1 convolution (a dense layer) where widths differ.
            let input = g.cur.clone();
            conv(g, t, conv1)?;
            conv(g, t, conv2)?;
            let main = g.cur.clone();
            let side = match skip {
                Some(d) => {
                    g.cur = input;
                    dense(g, t, d)?;
                    g.cur.clone()
                }
                None => input,
            };
            g.cur = g.node("Add", &[&main, &side], 1, &[]);
            g.relu();
            Ok(())
        }
        LayerSpec::LastStep => {
            let (starts, ends, axes) =
                (g.init_i64("starts", &[-1]), g.init_i64("ends", &[i64::MAX]), g.init_i64("axes", &[1]));
            g.apply("Slice", &[&starts, &ends, &axes], &[]);
            Ok(())
        }
        LayerSpec::Repeat { steps } => {
            let reps = g.init_i64("repeats", &[1, *steps as i64, 1]);
            g.apply("Tile", &[&reps], &[]);
            Ok(())
        }
        LayerSpec::Crop { steps } => {
            let (starts, ends, axes) =
                (g.init_i64("starts", &[0]), g.init_i64("ends", &[*steps as i64]), g.init_i64("axes", &[1]));
            g.apply("Slice", &[&starts, &ends, &axes], &[]);
            Ok(())
        }
        LayerSpec::Flatten => {
            let shape = g.init_i64("shape", &[0, 1, -1]);
            g.apply("Reshape", &[&shape], &[]);
            Ok(())
        }
        LayerSpec::Unflatten { steps } => {
            let shape = g.init_i64("shape", &[0, *steps as i64, -1]);
            g.apply("Reshape", &[&shape], &[]);
            Ok(())
        }
        LayerSpec::ConvTranspose { weight, bias, kernel, stride, padding, padding_out, relu } => {
            // Ours: [channels, kernel·filters], column tap·filters + filter. ONNX: [channel, filter, tap].
            let (c, kf, w) = matrix(t, weight)?;
            let f = kf / kernel;
            let mut onnx = vec![0f32; c * f * kernel];
            for ch in 0..c {
                for tap in 0..*kernel {
                    for fi in 0..f {
                        onnx[(ch * f + fi) * kernel + tap] = w[ch * kf + tap * f + fi];
                    }
                }
            }
            let (_, b) = t.get(bias)?;
            let (wn, bn) = (g.init_f32("deconv_w", &[c, f, *kernel], &onnx), g.init_f32("deconv_b", &[f], &b));
            g.transpose(&[0, 2, 1]);
            let (k, st, p, po) = (*kernel as i64, *stride as i64, *padding as i64, *padding_out as i64);
            let attrs: [(&str, &[i64]); 4] =
                [("kernel_shape", &[k]), ("strides", &[st]), ("pads", &[p, p]), ("output_padding", &[po])];
            g.apply("ConvTranspose", &[&wn, &bn], &attrs);
            if *relu {
                g.relu();
            }
            g.transpose(&[0, 2, 1]);
            Ok(())
        }
        LayerSpec::Additive { w, b, v } => {
            // e = tanh(x·W + b)·v over the steps, α = softmax(e), context Σ α·x: [batch, 1, d].
            let (d, a, wv) = matrix(t, w)?;
            let ((_, bv), (_, vv)) = (t.get(b)?, t.get(v)?);
            let (wn, bn, vn) =
                (g.init_f32("att_w", &[d, a], &wv), g.init_f32("att_b", &[a], &bv), g.init_f32("att_v", &[a, 1], &vv));
            let x = g.cur.clone();
            g.apply("MatMul", &[&wn], &[]);
            g.apply("Add", &[&bn], &[]);
            g.apply("Tanh", &[], &[]);
            g.apply("MatMul", &[&vn], &[]);
            g.apply("Softmax", &[], &[("axis", &[1])]);
            let alpha = g.cur.clone();
            g.cur = g.node("Mul", &[&x, &alpha], 1, &[]);
            let axes = g.init_i64("axes", &[1]);
            g.apply("ReduceSum", &[&axes], &[("keepdims", &[1])]);
            Ok(())
        }
        LayerSpec::Qkv { wq, wk, wv } => {
            // The last step's query against every step's key (scaled), the context of the values, then the last
            // step itself: [batch, 1, key + d].
            let ((d, k, q), (_, _, kw), (_, _, vw)) = (matrix(t, wq)?, matrix(t, wk)?, matrix(t, wv)?);
            let (qn, kn, vn) =
                (g.init_f32("wq", &[d, k], &q), g.init_f32("wk", &[d, k], &kw), g.init_f32("wv", &[d, k], &vw));
            let x = g.cur.clone();
            let (starts, ends, axes) =
                (g.init_i64("starts", &[-1]), g.init_i64("ends", &[i64::MAX]), g.init_i64("axes", &[1]));
            let last = g.node("Slice", &[&x, &starts, &ends, &axes], 1, &[]);
            let query = g.node("MatMul", &[&last, &qn], 1, &[]);
            let keys = g.node("MatMul", &[&x, &kn], 1, &[]);
            let values = g.node("MatMul", &[&x, &vn], 1, &[]);
            g.cur = keys;
            g.transpose(&[0, 2, 1]);
            let keys_t = g.cur.clone();
            let scores = g.node("MatMul", &[&query, &keys_t], 1, &[]);
            let scale = g.init_f32("scale", &[1], &[1.0 / libm::sqrtf(k as f32)]);
            g.cur = g.node("Mul", &[&scores, &scale], 1, &[]);
            g.apply("Softmax", &[], &[("axis", &[2])]);
            let alpha = g.cur.clone();
            let context = g.node("MatMul", &[&alpha, &values], 1, &[]);
            g.cur = g.node("Concat", &[&context, &last], 1, &[("axis", &[2])]);
            Ok(())
        }
    }
}

fn value_info(name: &str, dims: &[Option<usize>]) -> Pb {
    let mut shape = Pb::default();
    for d in dims {
        let mut dim = Pb::default();
        match d {
            Some(v) => dim.int(1, *v as i64),
            None => dim.str(2, "batch"),
        };
        shape.msg(1, dim);
    }
    let mut tensor = Pb::default();
    tensor.int(1, FLOAT as i64).msg(2, shape);
    let mut ty = Pb::default();
    ty.msg(1, tensor);
    let mut v = Pb::default();
    v.str(1, name).msg(2, ty);
    v
}

/// The ONNX model of a model file's header and tensors (input `input`, output `output`).
pub fn to_onnx(header: &Header, tensors: &Tensors<'_>) -> Result<Vec<u8>> {
    // The runtime's build checks every tensor's shape and how the layers chain, and gives the output's shape.
    let (t, c) = Network::from_header(header, tensors)?.output_shape();
    let c0 = header.features.len();
    let mut g = Graph { nodes: Vec::new(), inits: Vec::new(), count: 0, cur: "input".into() };
    let offset: Vec<f32> = header.scaler.offset.iter().map(|&v| v as f32).collect();
    let scale: Vec<f32> = header.scaler.scale.iter().map(|&v| v as f32).collect();
    let (on, sn) = (g.init_f32("offset", &[c0], &offset), g.init_f32("scale", &[c0], &scale));
    g.apply("Sub", &[&on], &[]);
    g.apply("Div", &[&sn], &[]);
    for spec in &header.layers {
        layer(&mut g, tensors, spec)?;
    }
    let cur = g.cur.clone();
    g.node_to("Identity", &[&cur], &["output"], &[]);
    let mut graph = Pb::default();
    for n in g.nodes {
        graph.msg(1, n);
    }
    graph.str(2, &header.name);
    for i in g.inits {
        graph.msg(5, i);
    }
    graph.msg(11, value_info("input", &[None, Some(header.steps), Some(c0)]));
    graph.msg(12, value_info("output", &[None, Some(t), Some(c)]));
    let mut opset = Pb::default();
    opset.str(1, "").int(2, 17);
    let mut model = Pb::default();
    model.int(1, 8).str(2, "telltale").msg(7, graph).msg(8, opset);
    Ok(model.0)
}
