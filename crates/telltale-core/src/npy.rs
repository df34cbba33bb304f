//! NumPy's `.npy` files, the part telemanom's arrays use: format versions 1
//! and 2 (and 3, whose header is the same but UTF-8), little-endian `<f8` or
//! `<f4`, C order, one or two dimensions. Anything else is refused with an
//! error naming the file and what it holds.

/// A two-dimensional array of `f64`, rows of `cols` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Rows.
    pub rows: usize,
    /// Values per row (1 for a one-dimensional array).
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub values: Vec<f64>,
}

impl Matrix {
    /// Column `c`, every row.
    pub fn column(&self, c: usize) -> Vec<f64> {
        self.values.iter().skip(c).step_by(self.cols.max(1)).copied().collect()
    }
}

/// The first bytes of every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY";

/// The value of `key` in the header's Python dict literal, as written (`'<f8'`, `False`, `(10, 55)`).
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

/// Parses the bytes of an `.npy` file; the error says what is wrong.
pub fn parse(bytes: &[u8]) -> std::result::Result<Matrix, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("not a NumPy .npy file (no \\x93NUMPY magic)".into());
    }
    if bytes.len() < 10 {
        return Err("truncated header".into());
    }
    let major = bytes[6];
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        2 | 3 => return Err("truncated header".into()),
        v => return Err(format!(".npy format version {v}: only versions 1 to 3 are read")),
    };
    let header = bytes.get(start..start + len).ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the header is not text")?;
    let descr = field(header, "descr").ok_or("the header has no 'descr'")?.trim_matches(|c| c == '\'' || c == '"');
    let width = match descr {
        "<f8" => 8,
        "<f4" => 4,
        other => {
            return Err(format!("dtype '{other}': only little-endian float64 ('<f8') or float32 ('<f4') are read"));
        }
    };
    match field(header, "fortran_order") {
        Some("False") => {}
        Some(_) => return Err("Fortran order: only C order is read".into()),
        None => return Err("the header has no 'fortran_order'".into()),
    }
    let shape = field(header, "shape").ok_or("the header has no 'shape'")?;
    let dims: Vec<usize> = shape
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| format!("shape {shape}: not a list of sizes")))
        .collect::<std::result::Result<_, _>>()?;
    let (rows, cols) = match dims[..] {
        [n] => (n, 1),
        [r, c] => (r, c),
        _ => return Err(format!("shape {shape}: only one- or two-dimensional arrays are read")),
    };
    let count = rows.checked_mul(cols).ok_or_else(|| format!("shape {shape}: too large"))?;
    let data = &bytes[start + len..];
    let need = count.checked_mul(width).ok_or_else(|| format!("shape {shape}: too large"))?;
    if data.len() < need {
        return Err(format!("truncated: shape {shape} needs {need} bytes of data, the file has {}", data.len()));
    }
    let values = if width == 8 {
        data[..need].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect()
    } else {
        data[..need].chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))).collect()
    };
    Ok(Matrix { rows, cols, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `.npy` file as NumPy writes it: version `major`, the header padded so the data starts on 64 bytes.
    fn npy(major: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let pre = if major == 1 { 10 } else { 12 };
        while (pre + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend([major, 0]);
        if major == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    fn f8(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn reads_v1_and_v2_in_f8_and_f4() {
        let m = parse(&npy(1, "<f8", false, "(2, 3)", &f8(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))).expect("v1");
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.column(0), [1.0, 4.0]);
        assert_eq!(m.column(2), [3.0, 6.0]);
        let f4: Vec<u8> = [0.5f32, -1.25].iter().flat_map(|x| x.to_le_bytes()).collect();
        let m = parse(&npy(2, "<f4", false, "(2,)", &f4)).expect("v2");
        assert_eq!((m.rows, m.cols, m.values), (2, 1, vec![0.5, -1.25]));
    }

    #[test]
    fn refuses_what_it_cannot_read_and_says_why() {
        let data = f8(&[1.0, 2.0]);
        let cases = [
            (npy(1, "<f8", false, "(2, 2)", &data), "truncated: shape (2, 2) needs 32 bytes"),
            (npy(1, ">f8", false, "(2,)", &data), "dtype '>f8'"),
            (npy(1, "<i8", false, "(2,)", &data), "dtype '<i8'"),
            (npy(1, "<f8", true, "(2,)", &data), "Fortran order"),
            (npy(1, "<f8", false, "(1, 1, 2)", &data), "one- or two-dimensional"),
            (npy(4, "<f8", false, "(2,)", &data), "version 4"),
            (b"PK\x03\x04 not npy".to_vec(), "no \\x93NUMPY magic"),
        ];
        for (bytes, want) in cases {
            let e = parse(&bytes).expect_err(want);
            assert!(e.contains(want), "{e} lacks {want}");
        }
        let mut cut = npy(1, "<f8", false, "(2,)", &data);
        cut.truncate(20);
        assert!(parse(&cut).expect_err("cut header").contains("truncated header"));
    }
}
