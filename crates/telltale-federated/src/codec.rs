//! How an update crosses the broker: dense f32, int8 per tensor, top-k with error feedback, or scaled sign
//! with error feedback. Bodies are little-endian; every decoder checks lengths and refuses what does not fit.
//!
//! Error feedback (Stich et al. 2018; Karimireddy et al. 2019): a site sends the compression of `v = Δ + r`
//! and keeps `r ← v − sent` for the next round, so what was left out is sent later rather than lost.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A codec for updates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Codec {
    /// Every value as an f32: 4 bytes each.
    F32,
    /// Per tensor, a scale (f32) and one signed byte per value.
    Int8,
    /// The `fraction` of values largest in magnitude (at least one): their positions as gaps (LEB128) and
    /// their values as f32; the rest is kept as residual.
    TopK {
        /// Share of the values sent, in (0, 1].
        fraction: f64,
    },
    /// Per tensor, the mean magnitude (f32) and one bit of sign per value; the rest is kept as residual.
    Sign,
}

impl Codec {
    /// True when what the codec leaves out is kept and sent in later rounds.
    pub fn error_feedback(self) -> bool {
        matches!(self, Codec::TopK { .. } | Codec::Sign)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::F32 => f.write_str("f32"),
            Codec::Int8 => f.write_str("int8"),
            Codec::TopK { fraction } => write!(f, "topk:{fraction}"),
            Codec::Sign => f.write_str("sign"),
        }
    }
}

impl FromStr for Codec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Codec> {
        match s {
            "f32" => Ok(Codec::F32),
            "int8" => Ok(Codec::Int8),
            "sign" => Ok(Codec::Sign),
            _ => match s.strip_prefix("topk:").map(str::parse::<f64>) {
                Some(Ok(fraction)) if fraction > 0.0 && fraction <= 1.0 => Ok(Codec::TopK { fraction }),
                Some(_) => Err(Error::config("codec", format!("'{s}': the fraction of topk:F is in (0, 1]"))),
                None => Err(Error::config("codec", format!("'{s}' is not f32, int8, topk:FRACTION or sign"))),
            },
        }
    }
}

impl TryFrom<String> for Codec {
    type Error = Error;
    fn try_from(s: String) -> Result<Codec> {
        s.parse()
    }
}

impl From<Codec> for String {
    fn from(c: Codec) -> String {
        c.to_string()
    }
}

/// Encodes updates for one site, keeping the residual of the error-feedback codecs between rounds.
#[derive(Debug, Clone)]
pub struct Encoder {
    codec: Codec,
    residual: Vec<f32>,
}

impl Encoder {
    /// An encoder with no residual yet.
    pub fn new(codec: Codec) -> Encoder {
        Encoder { codec, residual: Vec::new() }
    }

    /// The body for `delta` (tensors of `segments` values each); the residual is updated.
    pub fn encode(&mut self, delta: &[f32], segments: &[usize]) -> Vec<u8> {
        let mut v = delta.to_vec();
        if self.codec.error_feedback() && self.residual.len() == v.len() {
            for (x, r) in v.iter_mut().zip(&self.residual) {
                *x += r;
            }
        }
        let body = encode(self.codec, &v, segments);
        if self.codec.error_feedback() {
            // What the coordinator will read: exactly what was sent.
            let sent = decode(self.codec, &body, segments).unwrap_or_else(|_| vec![0.0; v.len()]);
            self.residual = v.iter().zip(&sent).map(|(a, b)| a - b).collect();
        }
        body
    }
}

/// The body of `v` under `codec`, without error feedback.
pub fn encode(codec: Codec, v: &[f32], segments: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    match codec {
        Codec::F32 => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Codec::Int8 => {
            for seg in split(v, segments) {
                let max = seg.iter().fold(0f32, |m, x| m.max(x.abs()));
                let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                out.extend(scale.to_le_bytes());
                out.extend(seg.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8 as u8));
            }
        }
        Codec::TopK { fraction } => {
            let k = ((fraction * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1)).min(v.len());
            let mut order: Vec<usize> = (0..v.len()).collect();
            if k < v.len() {
                order.select_nth_unstable_by(k, |&a, &b| v[b].abs().total_cmp(&v[a].abs()));
            }
            let mut chosen = order[..k].to_vec();
            chosen.sort_unstable();
            out.extend((k as u32).to_le_bytes());
            let mut last = 0usize;
            for (j, &i) in chosen.iter().enumerate() {
                let gap = if j == 0 { i } else { i - last - 1 };
                leb128(&mut out, gap as u64);
                last = i;
            }
            chosen.iter().for_each(|&i| out.extend(v[i].to_le_bytes()));
        }
        Codec::Sign => {
            for seg in split(v, segments) {
                let scale = seg.iter().map(|x| x.abs()).sum::<f32>() / seg.len().max(1) as f32;
                out.extend(scale.to_le_bytes());
                for chunk in seg.chunks(8) {
                    out.push(chunk.iter().enumerate().fold(0u8, |b, (i, x)| b | (u8::from(*x >= 0.0) << i)));
                }
            }
        }
    }
    out
}

/// The values a body carries: `segments` sum to their number. Refuses a body of the wrong size or shape.
pub fn decode(codec: Codec, body: &[u8], segments: &[usize]) -> Result<Vec<f32>> {
    let n: usize = segments.iter().sum();
    let bad = |what: &str| Error::Update(format!("{codec} body: {what}"));
    let mut r = Reader { body, at: 0 };
    let mut v = Vec::with_capacity(n);
    match codec {
        Codec::F32 => {
            for _ in 0..n {
                v.push(r.f32().ok_or_else(|| bad("too short"))?);
            }
        }
        Codec::Int8 => {
            for &len in segments {
                let scale = r.f32().ok_or_else(|| bad("too short"))?;
                let bytes = r.take(len).ok_or_else(|| bad("too short"))?;
                v.extend(bytes.iter().map(|&b| f32::from(b as i8) * scale));
            }
        }
        Codec::TopK { .. } => {
            v.resize(n, 0.0);
            let k = r.u32().ok_or_else(|| bad("too short"))? as usize;
            if k > n {
                return Err(bad(&format!("{k} entries for {n} values")));
            }
            let mut at = Vec::with_capacity(k);
            let mut next = 0u64;
            for _ in 0..k {
                let i = next
                    .checked_add(r.leb128().ok_or_else(|| bad("bad position"))?)
                    .ok_or_else(|| bad("bad position"))?;
                if i >= n as u64 {
                    return Err(bad("position past the end"));
                }
                at.push(i as usize);
                next = i + 1;
            }
            for i in at {
                v[i] = r.f32().ok_or_else(|| bad("too short"))?;
            }
        }
        Codec::Sign => {
            for &len in segments {
                let scale = r.f32().ok_or_else(|| bad("too short"))?;
                let bytes = r.take(len.div_ceil(8)).ok_or_else(|| bad("too short"))?;
                v.extend((0..len).map(|i| if bytes[i / 8] >> (i % 8) & 1 == 1 { scale } else { -scale }));
            }
        }
    }
    if r.at != body.len() {
        return Err(bad(&format!("{} bytes left over", body.len() - r.at)));
    }
    Ok(v)
}

fn split<'a>(v: &'a [f32], segments: &[usize]) -> Vec<&'a [f32]> {
    let mut out = Vec::with_capacity(segments.len());
    let mut at = 0;
    for &len in segments {
        let end = (at + len).min(v.len());
        out.push(&v[at..end]);
        at = end;
    }
    out
}

fn leb128(out: &mut Vec<u8>, mut x: u64) {
    loop {
        let byte = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.body.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn f32(&mut self) -> Option<f32> {
        self.take(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn leb128(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            x |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(x);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect()
    }

    #[test]
    fn f32_is_exact_and_four_bytes_a_value() {
        let v = ramp(1000);
        let body = encode(Codec::F32, &v, &[600, 400]);
        assert_eq!(body.len(), 4000);
        assert_eq!(decode(Codec::F32, &body, &[600, 400]).expect("decode"), v);
    }

    #[test]
    fn int8_is_within_half_a_step_of_each_tensor() {
        let v = ramp(1000);
        let segs = [600, 400];
        let body = encode(Codec::Int8, &v, &segs);
        assert_eq!(body.len(), 1000 + 8);
        let back = decode(Codec::Int8, &body, &segs).expect("decode");
        let step = 50.0 / 7.0 / 127.0;
        assert!(v.iter().zip(&back).all(|(a, b)| (a - b).abs() <= step / 2.0 + 1e-6));
    }

    #[test]
    fn topk_keeps_the_largest_and_feedback_sends_the_rest_later() {
        let v: Vec<f32> = (0..100).map(|i| i as f32 - 49.5).collect();
        let segs = [100];
        let mut enc = Encoder::new(Codec::TopK { fraction: 0.1 });
        let body = enc.encode(&v, &segs);
        let sent = decode(Codec::TopK { fraction: 0.1 }, &body, &segs).expect("decode");
        assert_eq!(sent.iter().filter(|x| **x != 0.0).count(), 10);
        assert!(sent.iter().zip(&v).all(|(s, x)| *s == 0.0 || s == x));
        assert!(sent.iter().filter(|x| **x != 0.0).all(|x| x.abs() >= 44.5));
        // With a zero delta afterwards, ten rounds send everything that was left out.
        let mut total = sent;
        for _ in 0..9 {
            let b = enc.encode(&[0.0; 100], &segs);
            let s = decode(Codec::TopK { fraction: 0.1 }, &b, &segs).expect("decode");
            total.iter_mut().zip(s).for_each(|(t, s)| *t += s);
        }
        assert_eq!(total, v);
    }

    #[test]
    fn sign_sends_one_bit_a_value_and_its_mean_magnitude() {
        let v = ramp(1001);
        let body = encode(Codec::Sign, &v, &[1001]);
        assert_eq!(body.len(), 4 + 126);
        let back = decode(Codec::Sign, &body, &[1001]).expect("decode");
        let mean = v.iter().map(|x| x.abs()).sum::<f32>() / 1001.0;
        assert!(back.iter().zip(&v).all(|(b, x)| (b.abs() - mean).abs() < 1e-5 && (*b >= 0.0) == (*x >= 0.0)));
    }

    #[test]
    fn bodies_of_the_wrong_size_or_shape_are_refused() {
        let v = ramp(50);
        for codec in [Codec::F32, Codec::Int8, Codec::TopK { fraction: 0.2 }, Codec::Sign] {
            let body = encode(codec, &v, &[50]);
            assert!(decode(codec, &body[..body.len() - 1], &[50]).is_err(), "{codec} short");
            let mut long = body.clone();
            long.push(0);
            assert!(decode(codec, &long, &[50]).is_err(), "{codec} long");
            assert!(decode(codec, &body, &[50]).is_ok());
        }
        // A top-k position past the end.
        let mut body = 1u32.to_le_bytes().to_vec();
        body.push(60);
        body.extend(1f32.to_le_bytes());
        assert!(decode(Codec::TopK { fraction: 0.1 }, &body, &[50]).is_err());
    }

    #[test]
    fn codecs_parse_and_print() {
        for s in ["f32", "int8", "topk:0.01", "sign"] {
            assert_eq!(s.parse::<Codec>().expect("parse").to_string(), s);
        }
        assert!("topk:0".parse::<Codec>().is_err());
        assert!("topk:2".parse::<Codec>().is_err());
        assert!("gzip".parse::<Codec>().is_err());
    }
}
