//! Line framing with a length limit (`protocol.md` §1): LF-terminated lines of at most
//! `max` bytes; a longer line is reported once and discarded up to its LF, and the
//! stream stays usable.

use std::io::{self, Read};

/// One framed item.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line without its LF.
    Line(Vec<u8>),
    /// A line longer than the limit (its bytes were discarded).
    TooLong,
}

/// Splits a byte stream into lines.
pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
    start: usize,
    discarding: bool,
    eof: bool,
}

impl<R: Read> LineReader<R> {
    /// A reader of lines up to `max` bytes (excluding LF).
    pub fn new(inner: R, max: usize) -> LineReader<R> {
        LineReader {
            inner,
            max,
            buf: Vec::with_capacity(8192),
            start: 0,
            discarding: false,
            eof: false,
        }
    }

    /// The next line, `Ok(None)` at EOF (a final unterminated line is returned first).
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            if let Some(pos) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let end = self.start + pos;
                let was_discarding = std::mem::replace(&mut self.discarding, false);
                let line = self.buf[self.start..end].to_vec();
                self.start = end + 1;
                self.compact();
                if was_discarding {
                    continue;
                }
                if line.len() > self.max {
                    return Ok(Some(Frame::TooLong));
                }
                return Ok(Some(Frame::Line(line)));
            }
            let pending = self.buf.len() - self.start;
            if pending > self.max && !self.discarding {
                self.discarding = true;
                self.buf.clear();
                self.start = 0;
                return Ok(Some(Frame::TooLong));
            }
            if self.discarding {
                self.buf.clear();
                self.start = 0;
            }
            if self.eof {
                if self.discarding || pending == 0 {
                    return Ok(None);
                }
                let line = self.buf[self.start..].to_vec();
                self.buf.clear();
                self.start = 0;
                return Ok(Some(if line.len() > self.max {
                    Frame::TooLong
                } else {
                    Frame::Line(line)
                }));
            }
            let mut chunk = [0u8; 16384];
            let n = match self.inner.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.eof = true;
            } else {
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }
    }

    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 65536 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn splits_lines_and_keeps_a_final_partial_line() {
        assert_eq!(
            frames(b"a\nbc\r\n\nlast", 10),
            vec![
                Frame::Line(b"a".to_vec()),
                Frame::Line(b"bc\r".to_vec()),
                Frame::Line(Vec::new()),
                Frame::Line(b"last".to_vec())
            ]
        );
    }

    #[test]
    fn long_lines_are_reported_once_and_skipped() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(
            frames(&input, 1000),
            vec![Frame::TooLong, Frame::Line(b"ok".to_vec())]
        );
        assert_eq!(
            frames(b"12345\nab\n", 4),
            vec![Frame::TooLong, Frame::Line(b"ab".to_vec())]
        );
        assert_eq!(frames(b"1234\n", 4), vec![Frame::Line(b"1234".to_vec())]);
    }
}
