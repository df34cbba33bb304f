//! Many windows on every core: the windows are split into one contiguous
//! share per thread, each thread (rayon's, which persist) runs its share in
//! tiles of `tile` windows through its own [`Session`]. Sessions are made
//! once, so a call allocates nothing.

use std::thread;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::net::{Network, Session};
use crate::simd::Isa;

/// One session per thread.
#[derive(Debug)]
pub struct Pool {
    sessions: Vec<Session>,
    tile: usize,
}

impl Pool {
    /// A pool of `threads` sessions (0: one per available core), running `tile` windows per call.
    pub fn new(network: &Network, threads: usize, tile: usize) -> Pool {
        Pool::with_isa(network, threads, tile, Isa::detect())
    }

    /// As [`Pool::new`], on instruction set `isa`.
    pub fn with_isa(network: &Network, threads: usize, tile: usize, isa: Isa) -> Pool {
        let threads = if threads == 0 { thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let tile = tile.max(1);
        Pool { sessions: (0..threads).map(|_| network.session_with(tile, isa)).collect(), tile }
    }

    /// Threads.
    pub fn threads(&self) -> usize {
        self.sessions.len()
    }

    /// Runs `n` windows `x` through `network`, writing their outputs to `out`
    /// (`n · network.output_len()` values).
    pub fn run(&mut self, network: &Network, x: &[f32], n: usize, out: &mut [f32]) -> Result<()> {
        let (t, c) = network.input_shape();
        let (inp, outp) = (t * c, network.output_len());
        if x.len() != n * inp || out.len() != n * outp {
            return Err(Error::Input { what: format!("{n} windows of {t} × {c}"), expected: n * inp, got: x.len() });
        }
        let tile = self.tile;
        let share = n.div_ceil(self.sessions.len()).max(1);
        let work = |session: &mut Session, xs: &[f32], ys: &mut [f32]| -> Result<()> {
            for (xt, yt) in xs.chunks(tile * inp).zip(ys.chunks_mut(tile * outp)) {
                let b = xt.len() / inp;
                yt.copy_from_slice(network.forward(session, xt, b)?);
            }
            Ok(())
        };
        if self.sessions.len() == 1 || n <= tile {
            return work(&mut self.sessions[0], x, out);
        }
        // rayon's threads live across calls: no thread start-up or fresh stacks per batch.
        self.sessions
            .par_iter_mut()
            .zip(x.par_chunks(share * inp).zip(out.par_chunks_mut(share * outp)))
            .try_for_each(|(session, (xs, ys))| work(session, xs, ys))
    }
}
