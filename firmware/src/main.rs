//! telltale's runtime on a Cortex-M4F: the seed CNN-LSTM, as an f32 and an int8 model file kept in flash, scores
//! fixed windows; the outputs and the memory it took go out over semihosting, one line each:
//!
//! ```text
//! image flash_bytes 262144 ram_static 1024
//! out f32 0 -0.123456789
//! mem f32 heap_peak 104448 stack_peak 2312
//! ```
//!
//! `scripts/firmware.sh` builds it, runs it on QEMU's mps2-an386 and compares the outputs with the host's.

#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use embedded_alloc::LlffHeap;
use telltale_runtime::Model;

/// The heap: the model's unpacked layers and the session's buffers live here.
const HEAP_BYTES: usize = 192 * 1024;

struct Counting {
    heap: LlffHeap,
    used: AtomicUsize,
    peak: AtomicUsize,
}

// SAFETY: every call goes to the heap (behind a critical section); the counters only watch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as given.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let now = self.used.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as given.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting { heap: LlffHeap::empty(), used: AtomicUsize::new(0), peak: AtomicUsize::new(0) };

static mut HEAP: [u8; HEAP_BYTES] = [0; HEAP_BYTES];

static F32_MODEL: &[u8] = include_bytes!("../../crates/telltale-runtime/tests/fixtures/cnn-lstm.ttm");
static INT8_MODEL: &[u8] = include_bytes!("../../crates/telltale-runtime/tests/fixtures/cnn-lstm.int8.ttm");

/// Windows scored (the fixtures' count).
const WINDOWS: usize = 8;
const PAINT: u32 = 0xC0DE_5A5A;

unsafe extern "C" {
    static mut __ebss: u32;
    static __sdata: u32;
    static __edata: u32;
    static __sidata: u32;
    static _stack_start: u32;
}

/// Flash the image takes (code and constants from address 0, then the initial values of .data) and the RAM
/// of its statics (.data and .bss) less the heap's arena, whose use is counted apart.
fn image() -> (usize, usize) {
    let (sdata, edata) = (&raw const __sdata as usize, &raw const __edata as usize);
    let (sidata, ebss) = (&raw const __sidata as usize, &raw const __ebss as usize);
    (sidata + (edata - sdata), ebss - sdata - HEAP_BYTES)
}

/// The fixtures' inputs (telltale-models' `inputs`).
fn input(i: usize) -> f32 {
    (((i as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / 4_194_304.0) - 2.0
}

fn sp() -> usize {
    cortex_m::register::msp::read() as usize
}

/// Fills the free stack below the current frame with a pattern; gives its lowest address.
fn paint() -> usize {
    let low = &raw mut __ebss as usize;
    let high = sp() - 512;
    let mut a = low.next_multiple_of(4);
    while a < high {
        // SAFETY: between the end of .bss and below the live stack: memory nothing uses yet.
        unsafe { core::ptr::write_volatile(a as *mut u32, PAINT) };
        a += 4;
    }
    low.next_multiple_of(4)
}

/// The deepest the stack went since [`paint`]: the top of RAM minus the lowest overwritten word.
fn stack_peak(low: usize) -> usize {
    let top = &raw const _stack_start as usize;
    let mut a = low;
    // SAFETY: reads of the painted region.
    while a < top && unsafe { core::ptr::read_volatile(a as *const u32) } == PAINT {
        a += 4;
    }
    top - a
}

fn run(name: &str, bytes: &'static [u8]) {
    let low = paint();
    ALLOC.peak.store(ALLOC.used.load(Ordering::Relaxed), Ordering::Relaxed);
    let before = ALLOC.used.load(Ordering::Relaxed);
    let model = match Model::from_bytes(bytes) {
        Ok(m) => m,
        Err(e) => {
            hprintln!("error {} {}", name, e);
            debug::exit(debug::EXIT_FAILURE);
            return;
        }
    };
    let (steps, channels) = model.network.input_shape();
    let mut session = model.network.session(1);
    let mut window = alloc::vec![0f32; steps * channels];
    for w in 0..WINDOWS {
        for (k, v) in window.iter_mut().enumerate() {
            *v = input(w * steps * channels + k);
        }
        match model.network.forward(&mut session, &window, 1) {
            Ok(out) => {
                for (j, v) in out.iter().enumerate() {
                    hprintln!("out {} {} {:e}", name, w * out.len() + j, v);
                }
            }
            Err(e) => {
                hprintln!("error {} {}", name, e);
                debug::exit(debug::EXIT_FAILURE);
            }
        }
    }
    let heap = ALLOC.peak.load(Ordering::Relaxed) - before;
    drop(session);
    drop(model);
    hprintln!("mem {} heap_peak {} stack_peak {}", name, heap, stack_peak(low));
}

#[entry]
fn main() -> ! {
    // SAFETY: the heap's memory is handed to the allocator once, before anything allocates.
    unsafe { ALLOC.heap.init(&raw mut HEAP as usize, HEAP_BYTES) };
    let (flash, statics) = image();
    hprintln!("image flash_bytes {} ram_static {}", flash, statics);
    run("f32", F32_MODEL);
    run("int8", INT8_MODEL);
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
