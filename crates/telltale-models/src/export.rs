//! A trained network as a telltale-runtime model: the layer list, the
//! weights (named after the module path) and the header with scaler,
//! window, score rule and threshold.

use burn::module::Param;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, ConvTranspose1d};
use burn::tensor::Tensor;
use telltale_core::{Scaler, Threshold};
use telltale_runtime::format::{self, ConvSpec, DenseSpec, Header, NamedTensor, ThresholdSpec};
use telltale_runtime::{Affine, LayerSpec, Model as RuntimeModel, ScoreSpec};

use crate::error::{Error, Result};
use crate::layers::{ConvBlock, Dense, Gru, Lstm};
use crate::presets::forecast::Recurrent;
use crate::presets::{Net, NetDims, Task};

/// Layers and tensors of a network.
#[derive(Debug, Default)]
pub struct Exported {
    /// The layers, in order.
    pub layers: Vec<LayerSpec>,
    /// The weights they name.
    pub tensors: Vec<NamedTensor>,
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}

impl Exported {
    fn tensor<const D: usize>(&mut self, name: &str, p: &Param<Tensor<D>>) -> String {
        let t = p.val();
        let shape = t.dims().to_vec();
        self.tensors.push((name.to_owned(), shape, values(t)));
        name.to_owned()
    }

    fn raw(&mut self, name: &str, shape: Vec<usize>, v: Vec<f32>) -> String {
        self.tensors.push((name.to_owned(), shape, v));
        name.to_owned()
    }

    fn conv_block(&mut self, name: &str, c: &ConvBlock, channels: usize) -> ConvSpec {
        let [kc, _] = c.weight.dims();
        let kernel = kc / channels.max(1);
        ConvSpec {
            weight: self.tensor(&format!("{name}.weight"), &c.weight),
            bias: self.tensor(&format!("{name}.bias"), &c.bias),
            kernel,
            stride: 1,
            dilation: c.dilation,
            pad_left: if c.causal { (kernel - 1) * c.dilation } else { 0 },
            pad_right: 0,
            pool: c.pool,
            relu: true,
        }
    }

    fn dense(&mut self, name: &str, d: &Dense, relu: bool) -> DenseSpec {
        DenseSpec {
            weight: self.tensor(&format!("{name}.weight"), &d.weight),
            bias: self.tensor(&format!("{name}.bias"), &d.bias),
            relu,
        }
    }

    fn lstm(&mut self, name: &str, l: &Lstm, sequence: bool) {
        let spec = LayerSpec::Lstm {
            w_ih: self.tensor(&format!("{name}.w_ih"), &l.w_ih),
            w_hh: self.tensor(&format!("{name}.w_hh"), &l.w_hh),
            bias: self.tensor(&format!("{name}.bias"), &l.bias),
            sequence,
        };
        self.layers.push(spec);
    }

    fn gru(&mut self, name: &str, g: &Gru, sequence: bool) {
        let spec = LayerSpec::Gru {
            w_ih: self.tensor(&format!("{name}.w_ih"), &g.w_ih),
            w_hh: self.tensor(&format!("{name}.w_hh"), &g.w_hh),
            b_ih: self.tensor(&format!("{name}.b_ih"), &g.b_ih),
            b_hh: self.tensor(&format!("{name}.b_hh"), &g.b_hh),
            sequence,
        };
        self.layers.push(spec);
    }

    /// burn's `Conv1d` (`[out, in, k]`, channels first) as a block (`[k·in, out]`, channels last).
    fn conv1d(&mut self, name: &str, c: &Conv1d, relu: bool) {
        let [o, i, k] = c.weight.dims();
        let w = values(c.weight.val());
        let mut packed = vec![0.0; k * i * o];
        for (oo, row) in w.chunks_exact(i * k).enumerate() {
            for ii in 0..i {
                for kk in 0..k {
                    packed[(kk * i + ii) * o + oo] = row[ii * k + kk];
                }
            }
        }
        let (pad_left, pad_right) = match c.padding {
            PaddingConfig1d::Explicit(l, r) => (l, r),
            _ => (0, 0),
        };
        let bias = c.bias.as_ref().map(|b| values(b.val())).unwrap_or_else(|| vec![0.0; o]);
        let spec = ConvSpec {
            weight: self.raw(&format!("{name}.weight"), vec![k * i, o], packed),
            bias: self.raw(&format!("{name}.bias"), vec![o], bias),
            kernel: k,
            stride: c.stride,
            dilation: c.dilation,
            pad_left,
            pad_right,
            pool: 1,
            relu,
        };
        self.layers.push(LayerSpec::Conv(spec));
    }

    /// burn's `ConvTranspose1d` (`[in, out, k]`) as `[in, k·out]`.
    fn conv_transpose(&mut self, name: &str, c: &ConvTranspose1d, relu: bool) {
        let [i, o, k] = c.weight.dims();
        let w = values(c.weight.val());
        let mut packed = vec![0.0; i * k * o];
        for ii in 0..i {
            for oo in 0..o {
                for kk in 0..k {
                    packed[ii * k * o + kk * o + oo] = w[(ii * o + oo) * k + kk];
                }
            }
        }
        let bias = c.bias.as_ref().map(|b| values(b.val())).unwrap_or_else(|| vec![0.0; o]);
        let spec = LayerSpec::ConvTranspose {
            weight: self.raw(&format!("{name}.weight"), vec![i, k * o], packed),
            bias: self.raw(&format!("{name}.bias"), vec![o], bias),
            kernel: k,
            stride: c.stride,
            padding: c.padding,
            padding_out: c.padding_out,
            relu,
        };
        self.layers.push(spec);
    }
}

/// The layers and weights of `net`, built for `dims`.
pub fn export_net(net: &Net, dims: &NetDims) -> Exported {
    let mut e = Exported::default();
    match net {
        Net::ConvLstm(m) => {
            let conv = e.conv_block("conv", &m.conv, dims.channels);
            e.layers.push(LayerSpec::Conv(conv));
            let last = m.lstm.len() - 1;
            for (i, l) in m.lstm.iter().enumerate() {
                e.lstm(&format!("lstm.{i}"), l, i < last);
            }
            let head = e.dense("head", &m.head, false);
            e.layers.push(LayerSpec::Dense(head));
        }
        Net::Plain(m) => {
            match &m.conv {
                Some(conv) => {
                    let conv = e.conv_block("conv", conv, dims.channels);
                    e.layers.push(LayerSpec::Conv(conv));
                    e.layers.push(LayerSpec::Flatten);
                }
                None => {
                    let last = m.lstm.len().saturating_sub(1);
                    for (i, l) in m.lstm.iter().enumerate() {
                        e.lstm(&format!("lstm.{i}"), l, i < last);
                    }
                }
            }
            let head = e.dense("head", &m.head, false);
            e.layers.push(LayerSpec::Dense(head));
        }
        Net::Rnn(m) => {
            let last = m.layers.len() - 1;
            for (i, l) in m.layers.iter().enumerate() {
                match l {
                    Recurrent::Lstm(l) => e.lstm(&format!("layers.{i}"), l, i < last),
                    Recurrent::Gru(g) => e.gru(&format!("layers.{i}"), g, i < last),
                }
            }
            let head = e.dense("head", &m.head, false);
            e.layers.push(LayerSpec::Dense(head));
        }
        Net::Tcn(m) => {
            let mut width = dims.channels;
            for (i, b) in m.blocks.iter().enumerate() {
                let conv1 = e.conv_block(&format!("blocks.{i}.conv1"), &b.conv1, width);
                width = b.conv1.weight.dims()[1];
                let conv2 = e.conv_block(&format!("blocks.{i}.conv2"), &b.conv2, width);
                let skip = b.skip.as_ref().map(|d| e.dense(&format!("blocks.{i}.skip"), d, false));
                e.layers.push(LayerSpec::TemporalBlock { conv1, conv2, skip });
            }
            e.layers.push(LayerSpec::LastStep);
            let head = e.dense("head", &m.head, false);
            e.layers.push(LayerSpec::Dense(head));
        }
        Net::DenseAe(m) => {
            e.layers.push(LayerSpec::Flatten);
            for (i, d) in m.encoder.iter().enumerate() {
                let spec = e.dense(&format!("encoder.{i}"), d, true);
                e.layers.push(LayerSpec::Dense(spec));
            }
            let last = m.decoder.len() - 1;
            for (i, d) in m.decoder.iter().enumerate() {
                let spec = e.dense(&format!("decoder.{i}"), d, i < last);
                e.layers.push(LayerSpec::Dense(spec));
            }
            e.layers.push(LayerSpec::Unflatten { steps: dims.steps });
        }
        Net::LstmAe(m) => {
            e.lstm("encoder", &m.encoder, false);
            e.layers.push(LayerSpec::Repeat { steps: dims.steps });
            e.lstm("decoder", &m.decoder, true);
            let out = e.dense("output", &m.output, false);
            e.layers.push(LayerSpec::Dense(out));
        }
        Net::ConvAe(m) => {
            e.conv1d("down1", &m.down1, true);
            e.conv1d("down2", &m.down2, true);
            e.conv_transpose("up1", &m.up1, true);
            e.conv_transpose("up2", &m.up2, true);
            e.conv_transpose("out", &m.out, false);
            e.layers.push(LayerSpec::Crop { steps: dims.steps });
        }
        Net::AttentionLstm(m) => {
            e.lstm("lstm", &m.lstm, true);
            let a = &m.attention;
            let [d_att, _] = a.v.dims();
            let v = values(a.v.val());
            let spec = LayerSpec::Additive {
                w: e.tensor("attention.w", &a.w),
                b: e.tensor("attention.b", &a.b),
                v: e.raw("attention.v", vec![d_att], v),
            };
            e.layers.push(spec);
            let head = e.dense("head", &m.head, false);
            e.layers.push(LayerSpec::Dense(head));
        }
        Net::AnomalyNet(m) => {
            let enc1 = e.dense("enc1", &m.enc1, true);
            e.layers.push(LayerSpec::Dense(enc1));
            let enc2 = e.dense("enc2", &m.enc2, true);
            e.layers.push(LayerSpec::Dense(enc2));
            let conv = e.conv_block("conv", &m.conv, m.enc2.weight.dims()[1]);
            e.layers.push(LayerSpec::Conv(conv));
            e.lstm("lstm", &m.lstm, true);
            let a = &m.attention;
            let spec = LayerSpec::Qkv {
                wq: e.tensor("attention.wq", &a.wq),
                wk: e.tensor("attention.wk", &a.wk),
                wv: e.tensor("attention.wv", &a.wv),
            };
            e.layers.push(spec);
            let head = e.dense("head", &m.head, false);
            e.layers.push(LayerSpec::Dense(head));
        }
    }
    e
}

/// What the header says beside the layers.
#[derive(Debug, Clone)]
pub struct HeaderParts<'a> {
    /// Model name.
    pub name: &'a str,
    /// Preset name.
    pub preset: &'a str,
    /// The task.
    pub task: Task,
    /// Feature names.
    pub features: &'a [String],
    /// Network sizes.
    pub dims: NetDims,
    /// Window step.
    pub step: usize,
    /// The fitted scaler.
    pub scaler: &'a Scaler,
    /// The fitted threshold.
    pub threshold: &'a Threshold,
    /// ε of the forecasters' rule.
    pub eps: f64,
    /// Anything else to record.
    pub info: serde_json::Value,
}

/// The scaler as offset and scale per feature.
pub fn affine(s: &Scaler) -> Affine {
    match s {
        Scaler::Standard { mean, scale } => Affine { offset: mean.clone(), scale: scale.clone() },
        Scaler::MinMax { min, scale } => Affine { offset: min.clone(), scale: scale.clone() },
        Scaler::Identity { n } => Affine { offset: vec![0.0; *n], scale: vec![1.0; *n] },
    }
}

/// The threshold as the runtime file carries it as it is: static or sliding (`None` for the others).
pub fn portable_threshold(t: &Threshold) -> Option<ThresholdSpec> {
    match t {
        Threshold::Static { value } => Some(ThresholdSpec::Static { value: *value }),
        Threshold::Sliding(s) => Some(ThresholdSpec::Sliding { window: s.window, k: s.k, eps: s.eps }),
        _ => None,
    }
}

/// The runtime header for `net` and `parts`.
///
/// The runtime flags with a static or sliding threshold: SPOT and DSPOT go in
/// as their calibrated starting threshold; telemanom's (it judges batches of
/// scores) has no runtime form and is refused.
pub fn header(parts: &HeaderParts<'_>, layers: Vec<LayerSpec>) -> Result<Header> {
    let score = match parts.task {
        Task::Classify => ScoreSpec::Probability,
        Task::Novelty => ScoreSpec::Reconstruction,
        Task::Forecast => ScoreSpec::Forecast { eps: parts.eps },
    };
    let threshold = match (portable_threshold(parts.threshold), parts.threshold) {
        (Some(spec), _) => spec,
        (None, Threshold::Spot { level, risk, depth: 0, calibration }) => {
            ThresholdSpec::Static { value: telltale_core::evt::Pot { level: *level, risk: *risk }.fit(calibration)?.z }
        }
        (None, _) => {
            return Err(Error::Data(
                "export: the runtime file carries static, sliding or SPOT thresholds; DSPOT and telemanom \
                 judge the stream as a whole (detect and evaluate apply them)"
                    .into(),
            ));
        }
    };
    Ok(Header {
        format: format::FORMAT.to_owned(),
        version: format::VERSION,
        producer: format!("telltale {}", env!("CARGO_PKG_VERSION")),
        name: parts.name.to_owned(),
        preset: parts.preset.to_owned(),
        features: parts.features.to_vec(),
        steps: parts.dims.steps,
        step: parts.step,
        horizon: parts.dims.horizon,
        scaler: affine(parts.scaler),
        score,
        threshold,
        layers,
        info: parts.info.clone(),
    })
}

/// The model file's bytes (`f32` weights).
pub fn to_bytes(net: &Net, parts: &HeaderParts<'_>) -> Result<Vec<u8>> {
    to_bytes_with(net, parts, false)
}

/// The model file's bytes; `int8` stores weight matrices as `i8` with per-column scales.
pub fn to_bytes_with(net: &Net, parts: &HeaderParts<'_>, int8: bool) -> Result<Vec<u8>> {
    let e = export_net(net, &parts.dims);
    let header = header(parts, e.layers)?;
    format::to_bytes_with(&header, &e.tensors, int8).map_err(|err| Error::Data(format!("export: {err}")))
}

/// `net` as a runtime model, in memory.
/// (Only its scores are read: a threshold the runtime cannot carry becomes 0.)
pub fn runtime_model(net: &Net, parts: &HeaderParts<'_>) -> Result<RuntimeModel> {
    let placeholder = Threshold::Static { value: 0.0 };
    let portable = matches!(parts.threshold, Threshold::Static { .. } | Threshold::Sliding(_));
    let parts = HeaderParts { threshold: if portable { parts.threshold } else { &placeholder }, ..parts.clone() };
    let bytes = to_bytes(net, &parts)?;
    RuntimeModel::from_bytes(&bytes).map_err(|err| Error::Data(format!("export: {err}")))
}

/// An imported network's runtime file again, with the model directory's threshold and, with `int8`, its weight
/// matrices stored as `i8`.
pub fn reexport(bytes: &[u8], threshold: &Threshold, int8: bool) -> Result<Vec<u8>> {
    let bad = |err: telltale_runtime::Error| Error::Data(format!("export: {err}"));
    let (mut header, tensors) = format::from_bytes(bytes).map_err(bad)?;
    header.threshold = portable_threshold(threshold).unwrap_or(header.threshold);
    let mut named = Vec::new();
    for (name, _) in tensors.sizes().into_iter().filter(|(n, _)| !n.ends_with(".scale")) {
        let (shape, values) = tensors.get(&name).map_err(bad)?;
        named.push((name, shape, values));
    }
    format::to_bytes_with(&header, &named, int8).map_err(bad)
}
