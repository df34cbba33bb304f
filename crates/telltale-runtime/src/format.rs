//! The model file: one safetensors file whose metadata entry `telltale`
//! holds a JSON [`Header`] (format, version, architecture as a list of
//! layers, scaler, window, score and threshold) and whose tensors are the
//! weights, named in the header. Any safetensors tool can list its tensors.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gemm::{Matrix, pad_bias};
use crate::layers::{Additive, Conv, ConvTranspose, Dense, Gru, Layer, Lstm, Qkv, TemporalBlock};

/// The header's `format` value.
pub const FORMAT: &str = "telltale-runtime";
/// The newest layout this build writes and reads.
pub const VERSION: u32 = 1;
/// The safetensors metadata key that holds the header.
pub const METADATA_KEY: &str = "telltale";

/// What the network's output means and how it becomes a score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ScoreSpec {
    /// One logit; the score is its sigmoid, the probability of an anomaly.
    Probability,
    /// A reconstruction of the window; the score is the mean over channels of each channel's MSE.
    Reconstruction,
    /// The next `horizon` steps; the score is the largest `|actual − predicted| / (std of the window + eps)`
    /// over channels, in the data's units (seed 002's rule).
    Forecast {
        /// ε of the rule.
        eps: f64,
    },
    /// The next `horizon` steps; the score is the largest `|actual − predicted|` over channels and
    /// steps, in the data's units (telemanom's prediction error, judged by its dynamic threshold).
    ForecastError,
}

/// How scores become flags.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ThresholdSpec {
    /// Scores at or above `value` are anomalous.
    Static {
        /// The threshold.
        value: f64,
    },
    /// A band of `k`·(std + `eps`) around the mean of the last `window` scores.
    Sliding {
        /// Scores in the band's history.
        window: usize,
        /// Width in standard deviations.
        k: f64,
        /// Added to the standard deviation.
        eps: f64,
    },
}

/// The affine scaler fitted on the training rows: `(x − offset) / scale` per feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    /// Subtracted, per feature.
    pub offset: Vec<f64>,
    /// Divided by, per feature.
    pub scale: Vec<f64>,
}

/// A convolution block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvSpec {
    /// Tensor `[kernel·channels, filters]`, row `tap·channels + channel`.
    pub weight: String,
    /// Tensor `[filters]`.
    pub bias: String,
    /// Taps.
    pub kernel: usize,
    /// Step between outputs.
    pub stride: usize,
    /// Step between taps.
    pub dilation: usize,
    /// Zero steps before.
    pub pad_left: usize,
    /// Zero steps after.
    pub pad_right: usize,
    /// Max-pool size.
    pub pool: usize,
    /// ReLU after.
    pub relu: bool,
}

/// A dense layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseSpec {
    /// Tensor `[d_input, d_output]`.
    pub weight: String,
    /// Tensor `[d_output]`.
    pub bias: String,
    /// ReLU after.
    pub relu: bool,
}

/// One layer, as the header describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LayerSpec {
    /// Convolution block.
    Conv(ConvSpec),
    /// Transposed convolution; `weight` is `[channels, kernel·filters]`, column `tap·filters + filter`.
    ConvTranspose {
        /// Weight tensor.
        weight: String,
        /// Bias tensor `[filters]`.
        bias: String,
        /// Taps.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Padding at both ends.
        padding: usize,
        /// Extra steps at the end.
        padding_out: usize,
        /// ReLU after.
        relu: bool,
    },
    /// Dense layer.
    Dense(DenseSpec),
    /// LSTM, gates i, f, g, o.
    Lstm {
        /// `[d_input, 4·hidden]`.
        w_ih: String,
        /// `[hidden, 4·hidden]`.
        w_hh: String,
        /// `[4·hidden]`.
        bias: String,
        /// Every step (`false`: the last only).
        sequence: bool,
    },
    /// GRU (`reset_after`), gates z, r, n.
    Gru {
        /// `[d_input, 3·hidden]`.
        w_ih: String,
        /// `[hidden, 3·hidden]`.
        w_hh: String,
        /// `[3·hidden]`.
        b_ih: String,
        /// `[3·hidden]`.
        b_hh: String,
        /// Every step (`false`: the last only).
        sequence: bool,
    },
    /// TCN residual block.
    TemporalBlock {
        /// First convolution.
        conv1: ConvSpec,
        /// Second convolution.
        conv2: ConvSpec,
        /// Skip path where the widths differ.
        skip: Option<DenseSpec>,
    },
    /// Additive attention pooling.
    Additive {
        /// `[d_model, d_attention]`.
        w: String,
        /// `[d_attention]`.
        b: String,
        /// `[d_attention]`.
        v: String,
    },
    /// Query/key/value attention (output: context ++ last step).
    Qkv {
        /// `[d_model, d_key]`.
        wq: String,
        /// `[d_model, d_key]`.
        wk: String,
        /// `[d_model, d_key]`.
        wv: String,
    },
    /// The last step.
    LastStep,
    /// Repeat a single step.
    Repeat {
        /// Steps out.
        steps: usize,
    },
    /// Keep the first steps.
    Crop {
        /// Steps out.
        steps: usize,
    },
    /// `[t, c]` → `[1, t·c]`.
    Flatten,
    /// `[1, steps·c]` → `[steps, c]`.
    Unflatten {
        /// Steps out.
        steps: usize,
    },
}

/// Everything about a model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version.
    pub version: u32,
    /// Who wrote it (`telltale 0.1.0`).
    pub producer: String,
    /// The model's name.
    pub name: String,
    /// The preset it was trained as.
    pub preset: String,
    /// Input feature names, in order.
    pub features: Vec<String>,
    /// Steps per input window (window size or lookback).
    pub steps: usize,
    /// Steps between windows in batch scoring.
    pub step: usize,
    /// Steps predicted (forecasters; 0 otherwise).
    pub horizon: usize,
    /// The scaler fitted on the training rows.
    pub scaler: Affine,
    /// How outputs become scores.
    pub score: ScoreSpec,
    /// How scores become flags.
    pub threshold: ThresholdSpec,
    /// The network.
    pub layers: Vec<LayerSpec>,
    /// Anything else the producer records (test figures, training report).
    #[serde(default)]
    pub info: serde_json::Value,
}

/// A tensor to write: name, shape, values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Writes a model file with `f32` weights.
pub fn to_bytes(header: &Header, tensors: &[NamedTensor]) -> Result<Vec<u8>> {
    to_bytes_with(header, tensors, false)
}

/// Writes a model file; with `int8`, every weight matrix is stored as `i8` with one `f32` scale per
/// column (`name.scale`, symmetric, `scale = max |w| / 127`) and restored to `f32` when loaded.
pub fn to_bytes_with(header: &Header, tensors: &[NamedTensor], int8: bool) -> Result<Vec<u8>> {
    let json = serde_json::to_string(header).map_err(|e| Error::invalid("header", e.to_string()))?;
    let mut stored: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, shape, v) in tensors {
        match shape.as_slice() {
            [k, n] if int8 && *n > 0 => {
                let (k, n) = (*k, *n);
                let scales: Vec<f32> = (0..n)
                    .map(|j| (0..k).map(|i| v[i * n + j].abs()).fold(0.0f32, f32::max) / 127.0)
                    .map(|s| if s > 0.0 { s } else { 1.0 })
                    .collect();
                let q: Vec<u8> = v
                    .iter()
                    .enumerate()
                    .map(|(at, &w)| (libm::roundf(w / scales[at % n]).clamp(-127.0, 127.0) as i8) as u8)
                    .collect();
                stored.push((name.clone(), Dtype::I8, shape.clone(), q));
                stored.push((
                    alloc::format!("{name}.scale"),
                    Dtype::F32,
                    alloc::vec![n],
                    scales.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ));
            }
            _ => {
                stored.push((name.clone(), Dtype::F32, shape.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()))
            }
        }
    }
    let mut views = Vec::with_capacity(stored.len());
    for (name, dtype, shape, data) in &stored {
        let view = TensorView::new(*dtype, shape.clone(), data).map_err(|e| Error::invalid(name, e.to_string()))?;
        views.push((name.as_str(), view));
    }
    safetensors::serialize(views, Some(metadata([(METADATA_KEY.to_owned(), json)])))
        .map_err(|e| Error::invalid("safetensors", e.to_string()))
}

/// The metadata map, whatever map type safetensors was built with.
fn metadata<M: Default + Extend<(String, String)>>(pairs: [(String, String); 1]) -> M {
    let mut m = M::default();
    m.extend(pairs);
    m
}

/// The tensors of a model file, looked up by name.
pub struct Tensors<'a> {
    file: SafeTensors<'a>,
}

impl Tensors<'_> {
    /// Every tensor's name and element count, the `.scale` columns of int8 matrices included.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        self.file.tensors().into_iter().map(|(name, view)| (name, view.shape().iter().product())).collect()
    }

    /// Shape and values of tensor `name`.
    pub fn get(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let view = self.file.tensor(name).map_err(|_| Error::invalid(name, "tensor missing from the file"))?;
        let shape = view.shape().to_vec();
        match view.dtype() {
            Dtype::F32 => {
                let values =
                    view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
                Ok((shape, values))
            }
            Dtype::I8 if shape.len() == 2 => {
                let n = shape[1];
                let (_, scales) = self.get(&format!("{name}.scale"))?;
                if scales.len() != n {
                    return Err(Error::invalid(name, format!("{} scales for {n} columns", scales.len())));
                }
                let values =
                    view.data().iter().enumerate().map(|(at, &q)| f32::from(q as i8) * scales[at % n]).collect();
                Ok((shape, values))
            }
            other => Err(Error::invalid(name, format!("dtype {other:?}, expected F32 (or I8 for a matrix)"))),
        }
    }

    fn matrix(&self, name: &str, rows: Option<usize>) -> Result<Matrix> {
        let (shape, values) = self.get(name)?;
        match (shape.as_slice(), rows) {
            ([k, n], Some(r)) if *k != r => Err(Error::invalid(name, format!("has {k} rows, expected {r}"))),
            ([k, n], _) => Ok(Matrix::new(*k, *n, &values)),
            _ => Err(Error::invalid(name, format!("shape {shape:?}, expected a matrix"))),
        }
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>> {
        let (shape, values) = self.get(name)?;
        if shape.as_slice() != [len] {
            return Err(Error::invalid(name, format!("shape {shape:?}, expected [{len}]")));
        }
        Ok(values)
    }
}

/// Reads a model file's header and tensors. A file that is not
/// safetensors, or has no telltale header, is [`Error::Foreign`]; one with a
/// newer version is [`Error::Newer`].
pub fn from_bytes(bytes: &[u8]) -> Result<(Header, Tensors<'_>)> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| Error::Foreign(format!("not a safetensors file ({e})")))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| Error::Foreign(e.to_string()))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY).cloned())
        .ok_or_else(|| Error::Foreign(format!("a safetensors file without a '{METADATA_KEY}' header")))?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| Error::Foreign(format!("header is not JSON ({e})")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(Error::Foreign(format!("header format is not '{FORMAT}'")));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(VERSION) {
        return Err(Error::Newer { found: u32::try_from(version).unwrap_or(u32::MAX), supported: VERSION });
    }
    let header: Header = serde_json::from_value(value).map_err(|e| Error::invalid("header", e.to_string()))?;
    Ok((header, Tensors { file }))
}

impl ConvSpec {
    fn build(&self, t: &Tensors<'_>, channels: usize) -> Result<Conv> {
        let w = t.matrix(&self.weight, Some(self.kernel * channels))?;
        let bias = pad_bias(&t.vector(&self.bias, w.n)?);
        if self.kernel == 0 || self.stride == 0 || self.dilation == 0 || self.pool == 0 {
            return Err(Error::invalid(&self.weight, "kernel, stride, dilation and pool must be at least 1"));
        }
        Ok(Conv {
            w,
            bias,
            kernel: self.kernel,
            channels,
            stride: self.stride,
            dilation: self.dilation,
            pad_left: self.pad_left,
            pad_right: self.pad_right,
            pool: self.pool,
            relu: self.relu,
        })
    }
}

impl DenseSpec {
    fn build(&self, t: &Tensors<'_>, d_in: usize) -> Result<Dense> {
        let w = t.matrix(&self.weight, Some(d_in))?;
        let bias = pad_bias(&t.vector(&self.bias, w.n)?);
        Ok(Dense { w, bias, relu: self.relu })
    }
}

impl LayerSpec {
    /// The layer, for inputs `width` values wide, with its weights from `t`.
    pub fn build(&self, t: &Tensors<'_>, width: usize) -> Result<Layer> {
        Ok(match self {
            LayerSpec::Conv(c) => Layer::Conv(c.build(t, width)?),
            LayerSpec::ConvTranspose { weight, bias, kernel, stride, padding, padding_out, relu } => {
                let w = t.matrix(weight, Some(width))?;
                if *kernel == 0 || !w.n.is_multiple_of(*kernel) || *stride == 0 {
                    return Err(Error::invalid(weight, format!("{} columns do not split into {kernel} taps", w.n)));
                }
                let filters = w.n / kernel;
                let bias = t.vector(bias, filters)?;
                Layer::ConvTranspose(ConvTranspose {
                    w,
                    bias,
                    kernel: *kernel,
                    filters,
                    stride: *stride,
                    padding: *padding,
                    padding_out: *padding_out,
                    relu: *relu,
                })
            }
            LayerSpec::Dense(d) => Layer::Dense(d.build(t, width)?),
            LayerSpec::Lstm { w_ih, w_hh, bias, sequence } => {
                let w_ih = t.matrix(w_ih, Some(width))?;
                let h = w_ih.n / 4;
                let w_hh = t.matrix(w_hh, Some(h))?;
                if w_ih.n != 4 * h || w_hh.n != 4 * h {
                    return Err(Error::invalid("lstm", "kernels are not [_, 4·hidden]"));
                }
                Layer::Lstm(Lstm { bias: pad_bias(&t.vector(bias, 4 * h)?), w_ih, w_hh, sequence: *sequence })
            }
            LayerSpec::Gru { w_ih, w_hh, b_ih, b_hh, sequence } => {
                let w_ih = t.matrix(w_ih, Some(width))?;
                let h = w_ih.n / 3;
                let w_hh = t.matrix(w_hh, Some(h))?;
                if w_ih.n != 3 * h || w_hh.n != 3 * h {
                    return Err(Error::invalid("gru", "kernels are not [_, 3·hidden]"));
                }
                Layer::Gru(Gru {
                    b_ih: pad_bias(&t.vector(b_ih, 3 * h)?),
                    b_hh: pad_bias(&t.vector(b_hh, 3 * h)?),
                    w_ih,
                    w_hh,
                    sequence: *sequence,
                })
            }
            LayerSpec::TemporalBlock { conv1, conv2, skip } => {
                let conv1 = conv1.build(t, width)?;
                let conv2 = conv2.build(t, conv1.w.n)?;
                let skip = skip.as_ref().map(|d| d.build(t, width)).transpose()?;
                Layer::TemporalBlock(TemporalBlock { conv1, conv2, skip })
            }
            LayerSpec::Additive { w, b, v } => {
                let w = t.matrix(w, Some(width))?;
                let n = w.n;
                Layer::Additive(Additive { b: pad_bias(&t.vector(b, n)?), v: t.vector(v, n)?, w })
            }
            LayerSpec::Qkv { wq, wk, wv } => {
                let q = t.matrix(wq, Some(width))?;
                let (k, v) = (t.get(wk)?, t.get(wv)?);
                if k.0.as_slice() != [width, q.n] || v.0.as_slice() != [width, q.n] {
                    return Err(Error::invalid(wk, "key and value kernels must match the query kernel"));
                }
                let n = q.n;
                let mut kv = Vec::with_capacity(2 * width * n);
                for r in 0..width {
                    kv.extend_from_slice(&k.1[r * n..(r + 1) * n]);
                    kv.extend_from_slice(&v.1[r * n..(r + 1) * n]);
                }
                Layer::Qkv(Qkv { wkv: Matrix::new(width, 2 * n, &kv), scale: 1.0 / libm::sqrtf(n as f32), wq: q })
            }
            LayerSpec::LastStep => Layer::LastStep,
            LayerSpec::Repeat { steps } => Layer::Repeat(*steps),
            LayerSpec::Crop { steps } => Layer::Crop(*steps),
            LayerSpec::Flatten => Layer::Flatten,
            LayerSpec::Unflatten { steps } => Layer::Unflatten(*steps),
        })
    }
}

/// `e` with the layer it came from named: its position and op (errors happen on the load path only).
pub(crate) fn at_layer(i: usize, spec: &LayerSpec, e: Error) -> Error {
    let op =
        serde_json::to_value(spec).ok().and_then(|v| v.get("op").and_then(|o| o.as_str()).map(ToString::to_string));
    let what = format!("layers[{i}] ({})", op.unwrap_or_default());
    match e {
        Error::Invalid { what: inner, message } => Error::invalid(what, format!("{inner}: {message}")),
        other => Error::invalid(what, other.to_string()),
    }
}
