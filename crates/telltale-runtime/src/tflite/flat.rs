//! A FlatBuffers writer for the few shapes a TFLite model needs: tables of scalars, strings, vectors of
//! scalars, bytes and tables. Written front to back: a parent is laid out first, with placeholders for the
//! offsets to its children, which follow it (FlatBuffers offsets are unsigned and point forward).

use alloc::vec;
use alloc::vec::Vec;

/// A field's value.
pub(crate) enum V {
    U8(u8),
    I8(i8),
    Bool(bool),
    U32(u32),
    I32(i32),
    F32(f32),
    Table(T),
    Tables(Vec<T>),
    I32s(Vec<i32>),
    I64s(Vec<i64>),
    F32s(Vec<f32>),
    /// Bytes, their first one aligned to 16.
    Bytes(Vec<u8>),
    Str(alloc::string::String),
}

/// A table: `(slot, value)` pairs.
#[derive(Default)]
pub(crate) struct T(pub Vec<(u16, V)>);

impl T {
    pub(crate) fn with(mut self, slot: u16, v: V) -> T {
        self.0.push((slot, v));
        self
    }
}

fn inline_size(v: &V) -> usize {
    match v {
        V::U8(_) | V::I8(_) | V::Bool(_) => 1,
        _ => 4,
    }
}

struct W {
    buf: Vec<u8>,
}

impl W {
    fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    fn patch(&mut self, at: usize, target: usize) {
        let rel = (target - at) as u32;
        self.buf[at..at + 4].copy_from_slice(&rel.to_le_bytes());
    }

    /// A vector of `n` elements of `size` bytes, its data aligned to `data_align`; gives its start (the length).
    fn vector_header(&mut self, n: usize, data_align: usize) -> usize {
        self.align(4);
        while !(self.buf.len() + 4).is_multiple_of(data_align) {
            self.buf.push(0);
        }
        let at = self.buf.len();
        self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        at
    }

    /// Writes a child object; gives its position.
    fn object(&mut self, v: &V) -> usize {
        match v {
            V::Table(t) => self.table(t),
            V::Tables(ts) => {
                let at = self.vector_header(ts.len(), 4);
                let slots = self.buf.len();
                self.buf.extend(vec![0u8; 4 * ts.len()]);
                for (i, t) in ts.iter().enumerate() {
                    let pos = self.table(t);
                    self.patch(slots + 4 * i, pos);
                }
                at
            }
            V::I32s(xs) => {
                let at = self.vector_header(xs.len(), 4);
                xs.iter().for_each(|x| self.buf.extend_from_slice(&x.to_le_bytes()));
                at
            }
            V::I64s(xs) => {
                let at = self.vector_header(xs.len(), 8);
                xs.iter().for_each(|x| self.buf.extend_from_slice(&x.to_le_bytes()));
                at
            }
            V::F32s(xs) => {
                let at = self.vector_header(xs.len(), 4);
                xs.iter().for_each(|x| self.buf.extend_from_slice(&x.to_le_bytes()));
                at
            }
            V::Bytes(b) => {
                let at = self.vector_header(b.len(), 16);
                self.buf.extend_from_slice(b);
                at
            }
            V::Str(s) => {
                let at = self.vector_header(s.len(), 4);
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.push(0);
                at
            }
            _ => unreachable!("scalars are written inline"),
        }
    }

    /// A table: its vtable, then the table, then its children; gives the table's position.
    fn table(&mut self, t: &T) -> usize {
        // Inline layout: soffset (4), then fields largest first so each is aligned.
        let mut fields: Vec<&(u16, V)> = t.0.iter().collect();
        fields.sort_by_key(|(_, v)| core::cmp::Reverse(inline_size(v)));
        let mut offsets = Vec::with_capacity(fields.len());
        let mut size = 4usize;
        for (_, v) in &fields {
            let s = inline_size(v);
            size = size.next_multiple_of(s);
            offsets.push(size);
            size += s;
        }
        let size = size.next_multiple_of(4);
        let slots = t.0.iter().map(|(s, _)| *s as usize + 1).max().unwrap_or(0);
        // The vtable, 2-aligned; then the table 4-aligned.
        self.align(2);
        let mut vt = vec![0u16; 2 + slots];
        vt[0] = (4 + 2 * slots) as u16;
        vt[1] = size as u16;
        for ((slot, _), off) in fields.iter().zip(&offsets) {
            vt[2 + *slot as usize] = *off as u16;
        }
        let vt_pos = self.buf.len();
        vt.iter().for_each(|x| self.buf.extend_from_slice(&x.to_le_bytes()));
        self.align(4);
        let pos = self.buf.len();
        self.buf.extend(vec![0u8; size]);
        let soff = (pos - vt_pos) as i32;
        self.buf[pos..pos + 4].copy_from_slice(&soff.to_le_bytes());
        let mut children = Vec::new();
        for (i, ((_, v), off)) in fields.iter().zip(&offsets).enumerate() {
            let at = pos + off;
            match v {
                V::U8(x) => self.buf[at] = *x,
                V::I8(x) => self.buf[at] = *x as u8,
                V::Bool(x) => self.buf[at] = u8::from(*x),
                V::U32(x) => self.buf[at..at + 4].copy_from_slice(&x.to_le_bytes()),
                V::I32(x) => self.buf[at..at + 4].copy_from_slice(&x.to_le_bytes()),
                V::F32(x) => self.buf[at..at + 4].copy_from_slice(&x.to_le_bytes()),
                _ => children.push((at, i)),
            }
        }
        for (at, i) in children {
            let child = self.object(&fields[i].1);
            self.patch(at, child);
        }
        pos
    }
}

/// The buffer of root table `root` with file identifier `ident`.
pub(crate) fn finish(root: &T, ident: &[u8; 4]) -> Vec<u8> {
    let mut w = W { buf: vec![0u8; 8] };
    w.buf[4..8].copy_from_slice(ident);
    let pos = w.table(root);
    w.patch(0, pos);
    w.buf
}
