//! RFC 6455 §5 deframing of one direction, sans-IO and split-invariant: frame headers (7-, 16-
//! and 64-bit lengths) are parsed wherever the input is cut, payloads unmasked, fragments of a
//! message handed on in order, control frames (close, ping, pong) collected whole between
//! fragments. Payload bytes are copied into one fixed scratch buffer and handed on when it is
//! full, at a message's end and at the end of each input, so a stream of 1-byte frames costs a
//! header parse and a byte copy per frame, not a call per frame.

/// Where pieces go; an error (the consumer could not decode a piece) stops deframing there.
pub type Out<'a> = dyn FnMut(Piece<'_>) -> Result<(), Violation> + 'a;

/// Bytes of payload handed on at most at once.
pub const SCRATCH: usize = 16 * 1024;

/// Largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL: usize = 125;

/// What the deframer hands on, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A data message starts: text or binary, compressed (RSV1, permessage-deflate) or not.
    Start {
        /// Opcode 1 (text) rather than 2 (binary).
        text: bool,
        /// RSV1 was set on its first frame.
        compressed: bool,
    },
    /// Payload bytes of the current data message, unmasked.
    Data(&'a [u8]),
    /// The current data message ended (a frame with FIN), with its last payload bytes (those
    /// of that frame not yet handed on as [`Piece::Data`]; possibly none), unmasked: a small
    /// compressed message is then inflated in one call with its tail.
    End(&'a [u8]),
    /// A whole control frame: its opcode (8 close, 9 ping, 10 pong) and unmasked payload.
    Control(u8, &'a [u8]),
}

/// A framing violation: the stream is not RFC 6455 as negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// RSV2 or RSV3 set, or RSV1 where permessage-deflate does not allow it.
    ReservedBits,
    /// An opcode RFC 6455 does not define.
    UnknownOpcode,
    /// A control frame fragmented or longer than 125 bytes.
    BadControl,
    /// A continuation frame with no message to continue.
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is unfinished.
    UnfinishedMessage,
    /// A client frame not masked, or a server frame masked.
    Masking,
    /// A 64-bit length with its most significant bit set.
    Length,
    /// Compressed data that does not inflate.
    Compression,
    /// The handshake negotiated an extension Guardian cannot decode.
    Extension,
}

impl Violation {
    /// A short reason for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Violation::ReservedBits => "reserved bits set",
            Violation::UnknownOpcode => "unknown opcode",
            Violation::BadControl => "control frame fragmented or over 125 bytes",
            Violation::UnexpectedContinuation => "continuation without a message",
            Violation::UnfinishedMessage => "data frame inside a fragmented message",
            Violation::Masking => "masking wrong for the direction",
            Violation::Length => "64-bit length with the top bit set",
            Violation::Compression => "compressed data does not inflate",
            Violation::Extension => "unsupported extension negotiated",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Payload {
    Data,
    Control(u8),
}

/// Deframer of one direction.
#[derive(Debug)]
pub struct Deframer {
    /// Client→server frames must be masked, server→client frames must not.
    masked: bool,
    /// permessage-deflate negotiated: RSV1 allowed on a message's first frame.
    deflate: bool,
    header: [u8; 14],
    header_len: usize,
    /// Payload bytes left in the current frame (0 while reading a header).
    left: u64,
    in_payload: bool,
    kind: Payload,
    fin: bool,
    mask: [u8; 4],
    mask_at: usize,
    in_message: bool,
    control: [u8; MAX_CONTROL],
    control_len: usize,
    scratch: Box<[u8]>,
    scratch_len: usize,
    frames: u64,
    payload_bytes: u64,
    /// The current message is compressed: its payload is handed on at each frame's end, so
    /// that corrupt data stops deframing at the frame holding it, however the input was cut.
    compressed: bool,
}

impl Deframer {
    /// A deframer of client frames (`masked`) or server frames, with permessage-deflate or not.
    pub fn new(masked: bool, deflate: bool) -> Self {
        Deframer {
            masked,
            deflate,
            header: [0; 14],
            header_len: 0,
            left: 0,
            in_payload: false,
            kind: Payload::Data,
            fin: false,
            mask: [0; 4],
            mask_at: 0,
            in_message: false,
            control: [0; MAX_CONTROL],
            control_len: 0,
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            scratch_len: 0,
            frames: 0,
            payload_bytes: 0,
            compressed: false,
        }
    }

    /// Frames parsed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Payload bytes of data frames announced so far (frames started).
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Whether a data message is unfinished.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Deframes all of `input`, handing pieces to `out`. After an error (a violation, or one
    /// `out` returned) the deframer must not be fed again (the stream is no longer understood).
    pub fn feed(&mut self, mut input: &[u8], out: &mut Out<'_>) -> Result<(), Violation> {
        while !input.is_empty() {
            if self.in_payload {
                let take = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                self.payload(&input[..take], out)?;
                input = &input[take..];
                self.left -= take as u64;
                if self.left == 0 {
                    self.frame_done(out)?;
                }
                continue;
            }
            if self.header_len == 0 && self.in_message && !self.compressed {
                let used = self.continuations(input);
                if used > 0 {
                    input = &input[used..];
                    continue;
                }
            }
            if self.header_len == 0 {
                if let Some(n) = header_len(input).filter(|&n| n <= input.len()) {
                    // The whole header is in the input: parsed where it is.
                    if let Err(v) = self.start_frame(&input[..n], out) {
                        self.flush(out)?;
                        return Err(v);
                    }
                    input = &input[n..];
                    continue;
                }
            }
            match self.header_bytes(input, out) {
                Ok(used) => input = &input[used..],
                Err(v) => {
                    // What came before the violation was seen, however the input was cut.
                    self.flush(out)?;
                    return Err(v);
                }
            }
        }
        self.flush(out)
    }

    /// Consumes header bytes; on a complete header, starts the frame.
    /// The fast path for a run of small continuation frames whole in `input` (not final, no
    /// extension bits, 7-bit lengths, inside an uncompressed message): their payloads are
    /// unmasked into the scratch buffer in one loop, as [`Self::start_frame`] and
    /// [`Self::payload`] would. Returns the bytes used; stops at the first other frame, a cut
    /// one, or a full scratch buffer, which the general path then takes.
    fn continuations(&mut self, input: &[u8]) -> usize {
        let mask_len = if self.masked { 4 } else { 0 };
        let mut at = 0;
        while let [0x00, b1, ..] = input[at..] {
            let len = usize::from(b1 & 0x7f);
            if (b1 & 0x80 != 0) != self.masked || len >= 126 {
                break;
            }
            let start = at + 2 + mask_len;
            let end = start + len;
            if end > input.len() || self.scratch_len + len > SCRATCH {
                break;
            }
            let dst = &mut self.scratch[self.scratch_len..self.scratch_len + len];
            dst.copy_from_slice(&input[start..end]);
            if self.masked {
                let mask = &input[at + 2..start];
                for (i, b) in dst.iter_mut().enumerate() {
                    *b ^= mask[i & 3];
                }
            }
            self.scratch_len += len;
            self.frames += 1;
            self.payload_bytes = self.payload_bytes.saturating_add(len as u64);
            at = end;
        }
        at
    }

    fn header_bytes(&mut self, input: &[u8], out: &mut Out<'_>) -> Result<usize, Violation> {
        let mut used = 0;
        loop {
            let need = header_len(&self.header[..self.header_len]).unwrap_or(2);
            if self.header_len == need {
                break;
            }
            if used == input.len() {
                return Ok(used);
            }
            let take = (need - self.header_len).min(input.len() - used);
            self.header[self.header_len..self.header_len + take]
                .copy_from_slice(&input[used..used + take]);
            self.header_len += take;
            used += take;
        }
        let header = self.header;
        let n = self.header_len;
        self.header_len = 0;
        self.start_frame(&header[..n], out)?;
        Ok(used)
    }

    fn start_frame(&mut self, h: &[u8], out: &mut Out<'_>) -> Result<(), Violation> {
        let fin = h[0] & 0x80 != 0;
        let rsv1 = h[0] & 0x40 != 0;
        let opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        if h[0] & 0x30 != 0 {
            return Err(Violation::ReservedBits);
        }
        if masked != self.masked {
            return Err(Violation::Masking);
        }
        let (len, at) = match h[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => {
                let mut b = [0; 8];
                b.copy_from_slice(&h[2..10]);
                (u64::from_be_bytes(b), 10)
            }
            n => (u64::from(n), 2),
        };
        if len >> 63 != 0 {
            return Err(Violation::Length);
        }
        if masked {
            self.mask.copy_from_slice(&h[at..at + 4]);
        }
        self.mask_at = 0;
        self.frames += 1;
        match opcode {
            0 => {
                if !self.in_message {
                    return Err(Violation::UnexpectedContinuation);
                }
                if rsv1 {
                    return Err(Violation::ReservedBits);
                }
                self.kind = Payload::Data;
            }
            1 | 2 => {
                if self.in_message {
                    return Err(Violation::UnfinishedMessage);
                }
                if rsv1 && !self.deflate {
                    return Err(Violation::ReservedBits);
                }
                self.kind = Payload::Data;
                self.in_message = true;
                self.compressed = rsv1;
                self.flush(out)?;
                out(Piece::Start {
                    text: opcode == 1,
                    compressed: rsv1,
                })?;
            }
            8..=10 => {
                if !fin || len > MAX_CONTROL as u64 {
                    return Err(Violation::BadControl);
                }
                if rsv1 {
                    return Err(Violation::ReservedBits);
                }
                self.kind = Payload::Control(opcode);
                self.control_len = 0;
            }
            _ => return Err(Violation::UnknownOpcode),
        }
        if self.kind == Payload::Data {
            self.payload_bytes = self.payload_bytes.saturating_add(len);
        }
        self.fin = fin;
        self.left = len;
        self.in_payload = len > 0;
        if len == 0 {
            self.frame_done(out)?;
        }
        Ok(())
    }

    /// Unmasks payload bytes of the current frame into the scratch buffer or the control buffer.
    fn payload(&mut self, mut data: &[u8], out: &mut Out<'_>) -> Result<(), Violation> {
        while !data.is_empty() {
            let (buf, len) = match self.kind {
                Payload::Control(_) => (&mut self.control[..], &mut self.control_len),
                Payload::Data => {
                    if self.scratch_len == SCRATCH {
                        self.flush(out)?;
                    }
                    (&mut self.scratch[..], &mut self.scratch_len)
                }
            };
            let take = (buf.len() - *len).min(data.len());
            let dst = &mut buf[*len..*len + take];
            if take == 1 {
                // Tiny frames: a byte, not a call to copy one.
                dst[0] = data[0];
            } else {
                dst.copy_from_slice(&data[..take]);
            }
            if self.masked {
                for (i, b) in dst.iter_mut().enumerate() {
                    *b ^= self.mask[(self.mask_at + i) & 3];
                }
                self.mask_at = (self.mask_at + take) & 3;
            }
            *len += take;
            data = &data[take..];
        }
        Ok(())
    }

    fn frame_done(&mut self, out: &mut Out<'_>) -> Result<(), Violation> {
        self.in_payload = false;
        match self.kind {
            Payload::Control(opcode) => {
                self.flush(out)?;
                out(Piece::Control(opcode, &self.control[..self.control_len]))
            }
            Payload::Data if self.fin => {
                self.in_message = false;
                let n = std::mem::take(&mut self.scratch_len);
                out(Piece::End(&self.scratch[..n]))
            }
            Payload::Data if self.compressed => self.flush(out),
            Payload::Data => Ok(()),
        }
    }

    /// Hands on the payload bytes gathered so far.
    fn flush(&mut self, out: &mut Out<'_>) -> Result<(), Violation> {
        let n = std::mem::take(&mut self.scratch_len);
        if n > 0 {
            out(Piece::Data(&self.scratch[..n]))?;
        }
        Ok(())
    }
}

fn header_len(h: &[u8]) -> Option<usize> {
    let b1 = *h.get(1)?;
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if b1 & 0x80 != 0 { 4 } else { 0 };
    Some(2 + ext + mask)
}
