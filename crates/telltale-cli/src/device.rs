//! The compute device behind `--device`: the flag's values and the burn
//! device each one names (the flag structs in `cli` take [`DeviceArg`] from
//! here, so the way from a command's flags to its device runs one way).

use anyhow::Result;
use burn::tensor::Device;

/// Where to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DeviceArg {
    /// burn's CPU backend (Flex).
    Cpu,
    /// burn's CUDA backend, first GPU (needs the `cuda` build feature).
    Cuda,
    /// burn's wgpu backend, the default GPU (needs the `wgpu` build feature).
    Wgpu,
}

/// The burn device for `arg`.
pub(crate) fn device(arg: DeviceArg) -> Result<Device> {
    match arg {
        DeviceArg::Cpu => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda => Ok(Device::cuda(0)),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda => {
            anyhow::bail!("this telltale was built without CUDA support; rebuild with `--features cuda`")
        }
        #[cfg(feature = "wgpu")]
        DeviceArg::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        DeviceArg::Wgpu => {
            anyhow::bail!("this telltale was built without wgpu support; rebuild with `--features wgpu`")
        }
    }
}
