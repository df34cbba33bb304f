//! The compute device behind `--device`.

use anyhow::{Result, bail};
use burn::tensor::Device;

use crate::cli::DeviceArg;

/// The burn device for `arg`.
pub(crate) fn device(arg: DeviceArg) -> Result<Device> {
    match arg {
        DeviceArg::Cpu => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda => Ok(Device::cuda(0)),
        #[cfg(not(feature = "cuda"))]
        DeviceArg::Cuda => bail!("this telltale was built without CUDA support; rebuild with `--features cuda`"),
        #[cfg(feature = "wgpu")]
        DeviceArg::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        DeviceArg::Wgpu => bail!("this telltale was built without wgpu support; rebuild with `--features wgpu`"),
    }
}
