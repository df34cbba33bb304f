//! A model file as an ONNX graph (opset 17), for the toolchains edge users already have (ONNX Runtime, and
//! the converters that start from ONNX). The graph takes raw readings `[batch, steps, features]`, applies the
//! file's scaler (`Sub`, `Div`), then its layers, and gives what the runtime's network gives, `[batch, t, c]`.
//!
//! Both ways: [`to_onnx`] writes a model file as ONNX; [`from_onnx`] maps an ONNX graph built from the zoo's
//! layer kinds (as `torch.onnx.export` and `tf2onnx` write them) onto the runtime's layers.
//!
//! Written by hand from the ONNX protobuf schema (`onnx.proto`: ModelProto, GraphProto, NodeProto,
//! TensorProto, ValueInfoProto): no protobuf dependency. Layers mapped: convolution blocks (padding, stride,
//! dilation, ReLU, max-pool), dense layers, LSTM and GRU (`linear_before_reset`, telltale's reset-after GRU),
//! TCN residual blocks, transposed convolutions, additive and query/key/value attention, the last step,
//! repeat, crop, flatten and unflatten: every layer of the zoo.

mod proto;
mod read;
mod write;

pub use read::{Imported, from_onnx};
pub use write::to_onnx;

/// ONNX's FLOAT element type.
const FLOAT: u64 = 1;
/// ONNX's INT64 element type.
const INT64: u64 = 7;
