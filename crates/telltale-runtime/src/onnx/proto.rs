//! The reader: the parts of an ONNX file (`onnx.proto`) the importer reads, decoded from the protobuf wire
//! format by hand. Unknown fields are skipped, as protobuf readers do; a truncated or malformed message is an
//! error naming the message.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// A tensor's values: floating point (FLOAT, DOUBLE) or integer (INT64, INT32, BOOL …) elements.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Data {
    /// Floating-point values.
    F(Vec<f32>),
    /// Integer values.
    I(Vec<i64>),
}

/// A constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tensor {
    /// Shape.
    pub(super) dims: Vec<usize>,
    /// Values, row-major.
    pub(super) data: Data,
}

impl Tensor {
    /// The values as `f32`.
    pub(super) fn floats(&self) -> Vec<f32> {
        match &self.data {
            Data::F(v) => v.clone(),
            Data::I(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The values as `i64` (floats truncated).
    pub(super) fn ints(&self) -> Vec<i64> {
        match &self.data {
            Data::F(v) => v.iter().map(|&x| x as i64).collect(),
            Data::I(v) => v.clone(),
        }
    }

    /// Number of elements.
    pub(super) fn len(&self) -> usize {
        match &self.data {
            Data::F(v) => v.len(),
            Data::I(v) => v.len(),
        }
    }
}

/// A node attribute (the kinds the importer reads).
#[derive(Debug, Clone, Default)]
pub(super) struct Attr {
    pub(super) name: String,
    pub(super) f: Option<f32>,
    pub(super) i: Option<i64>,
    pub(super) s: Vec<u8>,
    pub(super) t: Option<Tensor>,
    pub(super) floats: Vec<f32>,
    pub(super) ints: Vec<i64>,
    pub(super) strings: Vec<String>,
}

/// A graph node.
#[derive(Debug, Clone, Default)]
pub(super) struct Node {
    pub(super) inputs: Vec<String>,
    pub(super) outputs: Vec<String>,
    pub(super) name: String,
    pub(super) op: String,
    pub(super) domain: String,
    pub(super) attrs: Vec<Attr>,
}

impl Node {
    pub(super) fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub(super) fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).and_then(|a| a.i).unwrap_or(default)
    }

    pub(super) fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).and_then(|a| a.f).unwrap_or(default)
    }

    pub(super) fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub(super) fn string(&self, name: &str) -> Option<String> {
        self.attr(name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    /// Input `i`, `None` when absent or named "" (an omitted optional input).
    pub(super) fn input(&self, i: usize) -> Option<&str> {
        self.inputs.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }
}

/// A graph input or output: its name and dimensions (`None`: symbolic or unknown).
#[derive(Debug, Clone, Default)]
pub(super) struct ValueInfo {
    pub(super) name: String,
    pub(super) dims: Vec<Option<usize>>,
}

/// The graph.
#[derive(Debug, Clone, Default)]
pub(super) struct Graph {
    pub(super) nodes: Vec<Node>,
    pub(super) initializers: Vec<(String, Tensor)>,
    pub(super) inputs: Vec<ValueInfo>,
    pub(super) outputs: Vec<ValueInfo>,
}

/// The model: producer, default-domain opset and graph.
#[derive(Debug, Clone, Default)]
pub(super) struct Model {
    pub(super) producer: String,
    pub(super) opset: i64,
    pub(super) graph: Graph,
}

enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { b, at: 0, what }
    }

    fn bad(&self, message: &str) -> Error {
        Error::Foreign(format!("not an ONNX file: {} at byte {}: {message}", self.what, self.at))
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.at).ok_or_else(|| self.bad("truncated varint"))?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.bad("varint over 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| self.bad("truncated field"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    /// The next field, `None` at the end.
    fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>> {
        if self.at >= self.b.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap_or([0; 8]))),
            2 => {
                let n = usize::try_from(self.varint()?).map_err(|_| self.bad("length too large"))?;
                Wire::Bytes(self.take(n)?)
            }
            5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or([0; 4]))),
            w => return Err(self.bad(&format!("wire type {w}"))),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Repeated varints, packed or not.
fn push_varints(out: &mut Vec<i64>, w: Wire<'_>, what: &'static str) -> Result<()> {
    match w {
        Wire::Varint(v) => out.push(v as i64),
        Wire::Bytes(b) => {
            let mut r = Reader::new(b, what);
            while r.at < b.len() {
                out.push(r.varint()? as i64);
            }
        }
        _ => return Err(Error::Foreign(format!("not an ONNX file: {what}: an integer list of the wrong wire type"))),
    }
    Ok(())
}

/// Repeated 32-bit floats, packed or not.
fn push_floats(out: &mut Vec<f32>, w: Wire<'_>, what: &'static str) -> Result<()> {
    match w {
        Wire::Fixed32(v) => out.push(f32::from_bits(v)),
        Wire::Bytes(b) if b.len() % 4 == 0 => {
            out.extend(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        }
        _ => return Err(Error::Foreign(format!("not an ONNX file: {what}: a float list of the wrong wire type"))),
    }
    Ok(())
}

/// Repeated 64-bit floats, packed or not.
fn push_doubles(out: &mut Vec<f32>, w: Wire<'_>, what: &'static str) -> Result<()> {
    match w {
        Wire::Fixed64(v) => out.push(f64::from_bits(v) as f32),
        Wire::Bytes(b) if b.len() % 8 == 0 => {
            out.extend(b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32))
        }
        _ => return Err(Error::Foreign(format!("not an ONNX file: {what}: a double list of the wrong wire type"))),
    }
    Ok(())
}

/// The most elements a tensor (or a folded constant) may have: 2^26 (256 MiB of f32).
pub(super) const MAX_ELEMENTS: usize = 1 << 26;

// TensorProto.DataType values.
const FLOAT: i64 = 1;
const UINT8: i64 = 2;
const INT8: i64 = 3;
const INT32: i64 = 6;
const INT64: i64 = 7;
const BOOL: i64 = 9;
const DOUBLE: i64 = 11;

/// A TensorProto; gives its name too.
fn tensor(b: &[u8]) -> Result<(String, Tensor)> {
    let what = "TensorProto";
    let mut r = Reader::new(b, what);
    let (mut dims, mut dtype, mut name, mut raw) = (Vec::new(), 0i64, String::new(), None);
    let (mut floats, mut ints, mut external) = (Vec::new(), Vec::new(), false);
    while let Some((f, w)) = r.field()? {
        match (f, w) {
            (1, w) => push_varints(&mut dims, w, what)?,
            (2, Wire::Varint(v)) => dtype = v as i64,
            (4, w) => push_floats(&mut floats, w, what)?,
            (5 | 7, w) => push_varints(&mut ints, w, what)?,
            (8, Wire::Bytes(s)) => name = string(s),
            (9, Wire::Bytes(s)) => raw = Some(s),
            (10, w) => push_doubles(&mut floats, w, what)?,
            (13, _) => external = true,
            (14, Wire::Varint(1)) => external = true,
            _ => {}
        }
    }
    if external {
        return Err(Error::invalid(
            format!("initializer '{name}'"),
            "its data is in an external file; save the model with its weights inside (onnx.save(..., save_as_external_data=False))",
        ));
    }
    let dims: Vec<usize> = dims.into_iter().map(|d| usize::try_from(d).unwrap_or(0)).collect();
    let n = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_ELEMENTS);
    let n = n.ok_or_else(|| Error::invalid(format!("tensor '{name}'"), format!("shape {dims:?} is too large")))?;
    let data = match (dtype, raw) {
        (FLOAT, Some(raw)) => {
            Data::F(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        (DOUBLE, Some(raw)) => {
            Data::F(raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32).collect())
        }
        (INT64, Some(raw)) => {
            Data::I(raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
        }
        (INT32, Some(raw)) => {
            Data::I(raw.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect())
        }
        (INT8, Some(raw)) => Data::I(raw.iter().map(|&v| i64::from(v as i8)).collect()),
        (UINT8 | BOOL, Some(raw)) => Data::I(raw.iter().map(|&v| i64::from(v)).collect()),
        (FLOAT | DOUBLE, None) => Data::F(floats),
        (INT64 | INT32 | INT8 | UINT8 | BOOL, None) => Data::I(ints),
        (other, _) => {
            return Err(Error::invalid(
                format!("tensor '{name}'"),
                format!("element type {other} is not read (float or integer)"),
            ));
        }
    };
    let t = Tensor { dims, data };
    if t.len() != n {
        return Err(Error::invalid(format!("tensor '{name}'"), format!("{} values for shape {:?}", t.len(), t.dims)));
    }
    Ok((name, t))
}

fn attr(b: &[u8]) -> Result<Attr> {
    let what = "AttributeProto";
    let mut r = Reader::new(b, what);
    let mut a = Attr::default();
    while let Some((f, w)) = r.field()? {
        match (f, w) {
            (1, Wire::Bytes(s)) => a.name = string(s),
            (2, Wire::Fixed32(v)) => a.f = Some(f32::from_bits(v)),
            (3, Wire::Varint(v)) => a.i = Some(v as i64),
            (4, Wire::Bytes(s)) => a.s = s.to_vec(),
            (5, Wire::Bytes(s)) => a.t = Some(tensor(s)?.1),
            (7, w) => push_floats(&mut a.floats, w, what)?,
            (8, w) => push_varints(&mut a.ints, w, what)?,
            (9, Wire::Bytes(s)) => a.strings.push(string(s)),
            _ => {}
        }
    }
    Ok(a)
}

fn node(b: &[u8]) -> Result<Node> {
    let mut r = Reader::new(b, "NodeProto");
    let mut n = Node::default();
    while let Some((f, w)) = r.field()? {
        match (f, w) {
            (1, Wire::Bytes(s)) => n.inputs.push(string(s)),
            (2, Wire::Bytes(s)) => n.outputs.push(string(s)),
            (3, Wire::Bytes(s)) => n.name = string(s),
            (4, Wire::Bytes(s)) => n.op = string(s),
            (5, Wire::Bytes(s)) => n.attrs.push(attr(s)?),
            (7, Wire::Bytes(s)) => n.domain = string(s),
            _ => {}
        }
    }
    Ok(n)
}

/// ValueInfoProto → TypeProto (2) → Tensor (1) → TensorShapeProto (2) → Dimension (1) → dim_value (1).
fn value_info(b: &[u8]) -> Result<ValueInfo> {
    fn nested<'a>(b: &'a [u8], field: u64, what: &'static str) -> Result<Vec<&'a [u8]>> {
        let mut r = Reader::new(b, what);
        let mut out = Vec::new();
        while let Some((f, w)) = r.field()? {
            if let (true, Wire::Bytes(s)) = (f == field, w) {
                out.push(s);
            }
        }
        Ok(out)
    }
    let mut r = Reader::new(b, "ValueInfoProto");
    let mut v = ValueInfo::default();
    while let Some((f, w)) = r.field()? {
        match (f, w) {
            (1, Wire::Bytes(s)) => v.name = string(s),
            (2, Wire::Bytes(ty)) => {
                for tensor in nested(ty, 1, "TypeProto")? {
                    for shape in nested(tensor, 2, "TypeProto.Tensor")? {
                        for dim in nested(shape, 1, "TensorShapeProto")? {
                            let mut d = Reader::new(dim, "Dimension");
                            let mut value = None;
                            while let Some((f, w)) = d.field()? {
                                if let (1, Wire::Varint(x)) = (f, w) {
                                    value = usize::try_from(x).ok().filter(|&x| x > 0);
                                }
                            }
                            v.dims.push(value);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(v)
}

fn graph(b: &[u8]) -> Result<Graph> {
    let mut r = Reader::new(b, "GraphProto");
    let mut g = Graph::default();
    while let Some((f, w)) = r.field()? {
        match (f, w) {
            (1, Wire::Bytes(s)) => g.nodes.push(node(s)?),
            (5, Wire::Bytes(s)) => g.initializers.push(tensor(s)?),
            (11, Wire::Bytes(s)) => g.inputs.push(value_info(s)?),
            (12, Wire::Bytes(s)) => g.outputs.push(value_info(s)?),
            _ => {}
        }
    }
    Ok(g)
}

/// Decodes an ONNX ModelProto.
pub(super) fn model(bytes: &[u8]) -> Result<Model> {
    let mut r = Reader::new(bytes, "ModelProto");
    let mut m = Model::default();
    let mut saw_graph = false;
    while let Some((f, w)) = r.field()? {
        match (f, w) {
            (2, Wire::Bytes(s)) => m.producer = string(s),
            (7, Wire::Bytes(s)) => {
                m.graph = graph(s)?;
                saw_graph = true;
            }
            (8, Wire::Bytes(s)) => {
                let mut o = Reader::new(s, "OperatorSetIdProto");
                let (mut domain, mut version) = (String::new(), 0i64);
                while let Some((f, w)) = o.field()? {
                    match (f, w) {
                        (1, Wire::Bytes(d)) => domain = string(d),
                        (2, Wire::Varint(v)) => version = v as i64,
                        _ => {}
                    }
                }
                if domain.is_empty() || domain == "ai.onnx" {
                    m.opset = version;
                }
            }
            _ => {}
        }
    }
    if !saw_graph {
        return Err(Error::Foreign("not an ONNX file: no graph".into()));
    }
    Ok(m)
}
