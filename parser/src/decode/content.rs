//! Streaming `Content-Encoding` decoders (gzip, deflate, br) with a fixed output buffer: output
//! is handed to a sink piece by piece, and the sink can stop decoding at any point, so a
//! decompression bomb costs at most what the sink accepts.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Decompress, FlushDecompress, Status};

/// Decoded bytes are produced in pieces of at most this size.
pub const OUTPUT_PIECE: usize = 16 * 1024;

/// A content coding Guardian can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` / `x-gzip` (RFC 1952, members concatenated).
    Gzip,
    /// `deflate`: zlib-wrapped (RFC 1950) or, as some servers send it, raw (RFC 1951).
    Deflate,
    /// `br` (RFC 7932).
    Brotli,
}

impl Coding {
    /// Parses one content-coding token; `None` for identity and for codings not supported.
    pub fn parse(token: &[u8]) -> Option<Result<Self, ()>> {
        let is = |name: &[u8]| token.eq_ignore_ascii_case(name);
        if token.is_empty() || is(b"identity") {
            None
        } else if is(b"gzip") || is(b"x-gzip") {
            Some(Ok(Self::Gzip))
        } else if is(b"deflate") {
            Some(Ok(Self::Deflate))
        } else if is(b"br") {
            Some(Ok(Self::Brotli))
        } else {
            Some(Err(()))
        }
    }
}

/// Why decoding stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The compressed stream is corrupt.
    Corrupt,
}

/// Whether the sink wants more output.
pub type Sink<'a> = dyn FnMut(&[u8]) -> bool + 'a;

/// One decoding layer.
pub(crate) struct Layer {
    kind: LayerKind,
    out: Box<[u8]>,
}

enum LayerKind {
    Gzip {
        header: GzipHeader,
        inflate: Decompress,
        phase: Member,
    },
    Deflate {
        inflate: Option<Decompress>,
        first: Option<u8>,
        ended: bool,
    },
    Brotli(Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>),
    Done,
}

impl LayerKind {
    fn new(coding: Coding) -> Self {
        match coding {
            Coding::Gzip => LayerKind::Gzip {
                header: GzipHeader::start(),
                inflate: Decompress::new(false),
                phase: Member::Header,
            },
            Coding::Deflate => LayerKind::Deflate {
                inflate: None,
                first: None,
                ended: false,
            },
            Coding::Brotli => LayerKind::Brotli(Box::new(BrotliState::new(
                StandardAlloc::default(),
                StandardAlloc::default(),
                StandardAlloc::default(),
            ))),
        }
    }
}

/// Where a gzip layer is within the current member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Header,
    Body,
    /// CRC32 and ISIZE bytes left to skip; another member may follow.
    Trailer(u8),
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.kind {
            LayerKind::Gzip { .. } => "gzip",
            LayerKind::Deflate { .. } => "deflate",
            LayerKind::Brotli(_) => "br",
            LayerKind::Done => "done",
        };
        f.write_str(name)
    }
}

/// Parser of the gzip member header (RFC 1952 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GzipHeader {
    /// Reading the 10 fixed bytes; `flags` known from byte 3.
    Fixed { read: u8, flags: u8 },
    /// FEXTRA length bytes.
    ExtraLen { read: u8, len: u16, flags: u8 },
    /// Skipping FEXTRA data.
    Extra { left: u16, flags: u8 },
    /// Skipping a zero-terminated FNAME.
    Name { flags: u8 },
    /// Skipping a zero-terminated FCOMMENT.
    Comment { flags: u8 },
    /// Skipping FHCRC.
    Crc { left: u8 },
    /// Header done: deflate data follows.
    Body,
}

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

impl GzipHeader {
    fn start() -> Self {
        GzipHeader::Fixed { read: 0, flags: 0 }
    }

    /// Consumes header bytes; returns how many.
    fn consume(&mut self, input: &[u8]) -> Result<usize, DecodeError> {
        let mut i = 0;
        while i < input.len() && *self != GzipHeader::Body {
            let b = input[i];
            i += 1;
            *self = match *self {
                GzipHeader::Fixed { read: 0, .. } if b != 0x1f => return Err(DecodeError::Corrupt),
                GzipHeader::Fixed { read: 1, .. } if b != 0x8b => return Err(DecodeError::Corrupt),
                GzipHeader::Fixed { read: 2, .. } if b != 8 => return Err(DecodeError::Corrupt),
                GzipHeader::Fixed { read: 3, .. } => GzipHeader::Fixed { read: 4, flags: b },
                GzipHeader::Fixed { read: 9, flags } => Self::after_fixed(flags),
                GzipHeader::Fixed { read, flags } => GzipHeader::Fixed {
                    read: read + 1,
                    flags,
                },
                GzipHeader::ExtraLen { read: 0, flags, .. } => GzipHeader::ExtraLen {
                    read: 1,
                    len: u16::from(b),
                    flags,
                },
                GzipHeader::ExtraLen { len, flags, .. } => {
                    let left = len | (u16::from(b) << 8);
                    if left == 0 {
                        Self::after_extra(flags)
                    } else {
                        GzipHeader::Extra { left, flags }
                    }
                }
                GzipHeader::Extra { left: 1, flags } => Self::after_extra(flags),
                GzipHeader::Extra { left, flags } => GzipHeader::Extra {
                    left: left - 1,
                    flags,
                },
                GzipHeader::Name { flags } if b == 0 => Self::after_name(flags),
                GzipHeader::Comment { flags } if b == 0 => Self::after_comment(flags),
                state @ (GzipHeader::Name { .. } | GzipHeader::Comment { .. }) => state,
                GzipHeader::Crc { left: 1 } => GzipHeader::Body,
                GzipHeader::Crc { left } => GzipHeader::Crc { left: left - 1 },
                GzipHeader::Body => GzipHeader::Body,
            };
        }
        Ok(i)
    }

    fn after_fixed(flags: u8) -> Self {
        if flags & FEXTRA != 0 {
            GzipHeader::ExtraLen {
                read: 0,
                len: 0,
                flags,
            }
        } else {
            Self::after_extra(flags)
        }
    }
    fn after_extra(flags: u8) -> Self {
        if flags & FNAME != 0 {
            GzipHeader::Name { flags }
        } else {
            Self::after_name(flags)
        }
    }
    fn after_name(flags: u8) -> Self {
        if flags & FCOMMENT != 0 {
            GzipHeader::Comment { flags }
        } else {
            Self::after_comment(flags)
        }
    }
    fn after_comment(flags: u8) -> Self {
        if flags & FHCRC != 0 {
            GzipHeader::Crc { left: 2 }
        } else {
            GzipHeader::Body
        }
    }
}

impl Layer {
    pub(crate) fn new(coding: Coding) -> Self {
        Layer {
            kind: LayerKind::new(coding),
            out: vec![0; OUTPUT_PIECE].into_boxed_slice(),
        }
    }

    /// The coding this layer decodes (`None` once it is spent).
    pub(crate) fn coding(&self) -> Option<Coding> {
        match self.kind {
            LayerKind::Gzip { .. } => Some(Coding::Gzip),
            LayerKind::Deflate { .. } => Some(Coding::Deflate),
            LayerKind::Brotli(_) => Some(Coding::Brotli),
            LayerKind::Done => None,
        }
    }

    /// `coding`'s layer made from this one, whose body has ended: its output buffer kept, and
    /// a gzip inflater reset (as between members) rather than allocated and zeroed again.
    pub(crate) fn reuse(mut self, coding: Coding) -> Self {
        match (&mut self.kind, coding) {
            (
                LayerKind::Gzip {
                    header,
                    inflate,
                    phase,
                },
                Coding::Gzip,
            ) => {
                *header = GzipHeader::start();
                inflate.reset(false);
                *phase = Member::Header;
            }
            _ => self.kind = LayerKind::new(coding),
        }
        self
    }

    /// Decodes `input`, handing output to `sink` until it says stop. Returns `Ok(false)` when
    /// the sink stopped, `Ok(true)` to continue with more input. Bytes after the end of the
    /// compressed stream are ignored.
    pub(crate) fn decode(
        &mut self,
        mut input: &[u8],
        sink: &mut Sink<'_>,
    ) -> Result<bool, DecodeError> {
        while !input.is_empty() {
            match &mut self.kind {
                LayerKind::Gzip {
                    header,
                    inflate,
                    phase,
                } => match *phase {
                    Member::Header => {
                        input = &input[header.consume(input)?..];
                        if *header == GzipHeader::Body {
                            *phase = Member::Body;
                        }
                    }
                    Member::Body => {
                        let (used, more, ended) =
                            inflate_into(inflate, input, &mut self.out, sink)?;
                        input = &input[used..];
                        if !more {
                            return Ok(false);
                        }
                        if ended {
                            *phase = Member::Trailer(8);
                        }
                    }
                    Member::Trailer(left) => {
                        let skip = usize::from(left).min(input.len());
                        input = &input[skip..];
                        *phase = Member::Trailer(left - skip as u8);
                        if *phase == Member::Trailer(0) {
                            // Another member may follow (RFC 1952 §2.2): the same inflater,
                            // reset, rather than a new one's allocation and zeroed state at
                            // the end of every body.
                            *header = GzipHeader::start();
                            inflate.reset(false);
                            *phase = Member::Header;
                        }
                    }
                },
                LayerKind::Deflate { ended: true, .. } | LayerKind::Done => return Ok(true),
                LayerKind::Deflate {
                    inflate,
                    first,
                    ended,
                } => {
                    let Some(d) = inflate else {
                        // The first two bytes tell zlib (RFC 1950 header check) from raw deflate.
                        match (*first, input) {
                            (None, [only]) => {
                                *first = Some(*only);
                                return Ok(true);
                            }
                            (None, [b0, b1, ..]) => {
                                *inflate = Some(Decompress::new(is_zlib(*b0, *b1)))
                            }
                            (Some(b0), [b1, ..]) => {
                                let mut d = Decompress::new(is_zlib(b0, *b1));
                                let (_, more, _) =
                                    inflate_into(&mut d, &[b0], &mut self.out, sink)?;
                                *inflate = Some(d);
                                if !more {
                                    return Ok(false);
                                }
                            }
                            (_, []) => return Ok(true),
                        }
                        continue;
                    };
                    let (used, more, end) = inflate_into(d, input, &mut self.out, sink)?;
                    input = &input[used..];
                    *ended = end;
                    if !more {
                        return Ok(false);
                    }
                }
                LayerKind::Brotli(state) => {
                    let mut avail_in = input.len();
                    let mut in_off = 0;
                    loop {
                        let mut avail_out = self.out.len();
                        let mut out_off = 0;
                        let mut total = 0;
                        let result = BrotliDecompressStream(
                            &mut avail_in,
                            &mut in_off,
                            input,
                            &mut avail_out,
                            &mut out_off,
                            &mut self.out,
                            &mut total,
                            state,
                        );
                        if out_off > 0 && !sink(&self.out[..out_off]) {
                            return Ok(false);
                        }
                        match result {
                            BrotliResult::NeedsMoreOutput => continue,
                            BrotliResult::NeedsMoreInput => return Ok(true),
                            BrotliResult::ResultSuccess => {
                                self.kind = LayerKind::Done;
                                return Ok(true);
                            }
                            BrotliResult::ResultFailure => return Err(DecodeError::Corrupt),
                        }
                    }
                }
            }
        }
        Ok(true)
    }
}

fn is_zlib(b0: u8, b1: u8) -> bool {
    b0 & 0x0f == 8 && (u16::from(b0) << 8 | u16::from(b1)) % 31 == 0
}

/// Inflates as much of `input` as possible; returns (bytes used, sink wants more, stream ended).
fn inflate_into(
    d: &mut Decompress,
    input: &[u8],
    out: &mut [u8],
    sink: &mut Sink<'_>,
) -> Result<(usize, bool, bool), DecodeError> {
    let mut used = 0;
    loop {
        let (in0, out0) = (d.total_in(), d.total_out());
        let status = d
            .decompress(&input[used..], out, FlushDecompress::None)
            .map_err(|_| DecodeError::Corrupt)?;
        let consumed = (d.total_in() - in0) as usize;
        let produced = (d.total_out() - out0) as usize;
        used += consumed;
        if produced > 0 && !sink(&out[..produced]) {
            return Ok((used, false, false));
        }
        match status {
            Status::StreamEnd => return Ok((used, true, true)),
            // No progress, or input used up with room left in the output: needs more input.
            _ if consumed == 0 && produced == 0 => return Ok((used, true, false)),
            _ if used == input.len() && produced < out.len() => return Ok((used, true, false)),
            _ => {}
        }
    }
}
