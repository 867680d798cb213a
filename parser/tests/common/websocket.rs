//! WebSocket forms of a case's input (issue 11 item 3): the frames one direction of an upgraded
//! connection carries (client→server masked, server→client not), fragmented with control frames
//! between fragments, split over messages, compressed with permessage-deflate (context takeover
//! and not), as JSON and as OpenAI Realtime delta events; and a runner that feeds them to the
//! real [`WebSocket`] inspector in pieces of any size.

use flate2::{Compress, Compression, FlushCompress};

use guardian_parser::inspect::Detection;
use guardian_parser::scan::{Direction, Registry};
use guardian_parser::websocket::{DeflateParams, Extensions, WebSocket};

use super::encoded::{base64, hex, padded, with_zero_width};
use super::json_escape;
use super::views::pieces;

/// Opcodes.
pub const TEXT: u8 = 1;
pub const BINARY: u8 = 2;
pub const CONTINUATION: u8 = 0;
pub const CLOSE: u8 = 8;
pub const PING: u8 = 9;

/// One frame; masked with a key derived from `seed` when `masked`.
pub fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8], masked: bool, seed: u8) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode];
    let mask_bit = u8::from(masked) << 7;
    match payload.len() {
        n if n < 126 => f.push(mask_bit | n as u8),
        n if n <= 0xffff => {
            f.push(mask_bit | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(mask_bit | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [seed ^ 0x5a, seed.wrapping_mul(7) ^ 0x13, 0xc4, seed ^ 0xee];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
    } else {
        f.extend_from_slice(payload);
    }
    f
}

/// Builds the frames of one direction.
pub struct Frames {
    pub masked: bool,
    pub bytes: Vec<u8>,
    deflate: Option<(Compress, bool)>,
    seed: u8,
}

impl Frames {
    /// Frames of `direction` (outbound frames are masked), compressed when `deflate` is given
    /// (`Some(true)`: context takeover).
    pub fn new(direction: Direction, deflate: Option<bool>) -> Self {
        Frames {
            masked: direction == Direction::Outbound,
            bytes: Vec::new(),
            deflate: deflate.map(|t| (Compress::new(Compression::default(), false), t)),
            seed: 1,
        }
    }

    /// The extensions a handshake would have negotiated for these frames.
    pub fn extensions(&self) -> Extensions {
        let params = self.deflate.as_ref().map(|(_, takeover)| DeflateParams {
            no_context_takeover: !takeover,
            max_window_bits: 15,
        });
        Extensions {
            client: params,
            server: params,
            unsupported: false,
        }
    }

    /// RFC 7692 §7.2.1: deflate with a sync flush, the trailing empty block removed.
    fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let Some((c, takeover)) = &mut self.deflate else {
            return data.to_vec();
        };
        let mut out = Vec::with_capacity(data.len() * 2 + 64);
        c.compress_vec(data, &mut out, FlushCompress::Sync)
            .expect("deflate");
        while out.capacity() == out.len() {
            out.reserve(256);
            c.compress_vec(&[], &mut out, FlushCompress::Sync)
                .expect("deflate");
        }
        // zlib writes nothing for a sync flush with no new input right after another one. The
        // stream is byte-aligned then, and RFC 7692 §7.2.3.6 sends the empty message as the
        // empty stored block without its tail: 0x00 (an empty payload would leave the
        // receiver inside a stored block).
        if out.is_empty() {
            return vec![0];
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]), "sync flush tail");
        out.truncate(out.len() - 4);
        if !*takeover {
            c.reset();
        }
        out
    }

    /// One message, compressed if negotiated, its payload cut into frames of `size` bytes,
    /// with a ping between the first two fragments.
    pub fn message(&mut self, opcode: u8, data: &[u8], size: usize) -> &mut Self {
        let compressed = self.deflate.is_some();
        let payload = self.compress(data);
        let parts: Vec<&[u8]> = if payload.is_empty() {
            vec![&[][..]]
        } else {
            payload.chunks(size.max(1)).collect()
        };
        let last = parts.len() - 1;
        for (i, part) in parts.into_iter().enumerate() {
            let op = if i == 0 { opcode } else { CONTINUATION };
            self.seed = self.seed.wrapping_add(1);
            let f = frame(
                i == last,
                compressed && i == 0,
                op,
                part,
                self.masked,
                self.seed,
            );
            self.bytes.extend_from_slice(&f);
            if i == 0 && last > 0 {
                let ping = frame(true, false, PING, b"keepalive", self.masked, self.seed);
                self.bytes.extend_from_slice(&ping);
            }
        }
        self
    }

    /// A close frame with a reason.
    pub fn close(&mut self) -> &mut Self {
        let mut payload = 1000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        let f = frame(true, false, CLOSE, &payload, self.masked, 9);
        self.bytes.extend_from_slice(&f);
        self
    }
}

/// A Realtime-style event carrying one delta of `kind`.
pub fn realtime_event(kind: &str, delta: &str, index: usize) -> String {
    format!(
        "{{\"type\":\"{kind}\",\"event_id\":\"ev_{index}\",\"response_id\":\"resp_1\",\"item_id\":\"item_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"{}\"}}",
        json_escape(delta.as_bytes())
    )
}

/// Every WebSocket form of `input` travelling in `direction`: the name, the negotiated
/// extensions and the direction's frame bytes.
pub fn websocket_forms(direction: Direction, input: &[u8]) -> Vec<(String, Extensions, Vec<u8>)> {
    let mut forms = Vec::new();
    let mut push = |name: String, frames: &mut Frames| {
        frames.close();
        forms.push((name, frames.extensions(), std::mem::take(&mut frames.bytes)));
    };
    let hello = b"{\"type\":\"session.update\",\"session\":{\"modalities\":[\"text\"]}}";
    for deflate in [None, Some(true), Some(false)] {
        let tag = match deflate {
            None => "plain",
            Some(true) => "deflate",
            Some(false) => "deflate-no-takeover",
        };
        for size in [1, 3, 1000] {
            let mut f = Frames::new(direction, deflate);
            f.message(TEXT, hello, 7).message(TEXT, input, size);
            push(format!("ws-{tag}-text-{size}"), &mut f);
        }
        let mut f = Frames::new(direction, deflate);
        f.message(BINARY, input, 5);
        push(format!("ws-{tag}-binary-5"), &mut f);
        // Split over two messages, each fragmented.
        let half = input.len() / 2;
        let mut f = Frames::new(direction, deflate);
        f.message(TEXT, &input[..half], 4)
            .message(BINARY, &input[half..], 4);
        push(format!("ws-{tag}-two-messages"), &mut f);
        let Ok(text) = std::str::from_utf8(input) else {
            continue;
        };
        let json = format!(
            "{{\"type\":\"conversation.item.create\",\"item\":{{\"type\":\"message\",\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"{}\"}}]}}}}",
            json_escape(input)
        );
        let mut f = Frames::new(direction, deflate);
        f.message(TEXT, hello, 100)
            .message(TEXT, json.as_bytes(), 9);
        push(format!("ws-{tag}-json"), &mut f);
        for (kind, size) in [
            ("response.text.delta", 1),
            ("response.output_text.delta", 3),
            ("response.audio_transcript.delta", 7),
        ] {
            let mut f = Frames::new(direction, deflate);
            f.message(
                TEXT,
                b"{\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}",
                50,
            );
            for (i, piece) in pieces(text, size).iter().enumerate() {
                f.message(TEXT, realtime_event(kind, piece, i).as_bytes(), 16);
            }
            push(format!("ws-{tag}-{kind}-{size}"), &mut f);
        }
        let args = format!("{{\"command\": \"{}\"}}", json_escape(input));
        let mut f = Frames::new(direction, deflate);
        for (i, piece) in pieces(&args, 5).iter().enumerate() {
            f.message(
                TEXT,
                realtime_event("response.function_call_arguments.delta", piece, i).as_bytes(),
                1000,
            );
        }
        push(format!("ws-{tag}-arguments-5"), &mut f);
    }
    forms
}

/// Feeds one direction's frames to a fresh inspector in pieces of the given sizes (cycled),
/// then ends the connection; returns the detections and the inspector.
pub fn inspect_websocket(
    registry: &Registry,
    direction: Direction,
    extensions: Extensions,
    stream: &[u8],
    sizes: &[usize],
    max_scan_bytes: u64,
) -> (Vec<Detection>, WebSocket) {
    let mut ws = WebSocket::new(
        registry,
        extensions,
        max_scan_bytes,
        Some("realtime.example:443".into()),
    );
    let mut found = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let size = sizes[i % sizes.len()].max(1);
        i += 1;
        let end = (pos + size).min(stream.len());
        ws.feed(registry, direction, &stream[pos..end]);
        pos = end;
        while let Some(d) = ws.poll_detection() {
            found.push(d);
        }
    }
    ws.finish(registry);
    while let Some(d) = ws.poll_detection() {
        found.push(d);
    }
    (found, ws)
}

/// The base64 and hex forms of `input` (padded to a decoded run) in WebSocket messages of
/// `direction`, plain and compressed: a fragmented text message, a JSON message holding it, and
/// Realtime deltas of 1, 3 and 7 characters; and `input` with zero-width characters inside, as a
/// text message in frames of 5 bytes (characters cut across frames) and as a JSON message.
pub fn encoded_websocket_forms(
    direction: Direction,
    input: &[u8],
) -> Vec<(String, Extensions, Vec<u8>)> {
    let data = padded(input);
    let mut forms = Vec::new();
    for (encoding, text) in [
        ("base64", format!("payload: {}\n", base64(&data))),
        ("hex", format!("blob={} end", hex(&data, false, ""))),
    ] {
        for deflate in [None, Some(true)] {
            let tag = format!(
                "{encoding}-{}",
                if deflate.is_some() {
                    "deflate"
                } else {
                    "plain"
                }
            );
            let mut push = |name: String, frames: &mut Frames| {
                frames.close();
                forms.push((name, frames.extensions(), std::mem::take(&mut frames.bytes)));
            };
            let mut f = Frames::new(direction, deflate);
            f.message(TEXT, text.as_bytes(), 5);
            push(format!("ws-{tag}-text-5"), &mut f);
            let json = format!(
                "{{\"type\":\"conversation.item.create\",\"item\":{{\"type\":\"message\",\"content\":[{{\"type\":\"input_text\",\"text\":\"{}\"}}]}}}}",
                json_escape(text.as_bytes())
            );
            let mut f = Frames::new(direction, deflate);
            f.message(TEXT, json.as_bytes(), 9);
            push(format!("ws-{tag}-json"), &mut f);
            for size in [1, 3, 7] {
                let mut f = Frames::new(direction, deflate);
                for (i, piece) in pieces(&text, size).iter().enumerate() {
                    let event = realtime_event("response.output_text.delta", piece, i);
                    f.message(TEXT, event.as_bytes(), 64);
                }
                push(format!("ws-{tag}-deltas-{size}"), &mut f);
            }
        }
    }
    let hidden = with_zero_width(input);
    for deflate in [None, Some(true)] {
        let mut f = Frames::new(direction, deflate);
        f.message(TEXT, &hidden, 5);
        f.close();
        forms.push((
            format!("ws-zero-width-text-{}", deflate.is_some()),
            f.extensions(),
            std::mem::take(&mut f.bytes),
        ));
        let json = format!(
            "{{\"type\":\"note\",\"text\":\"{}\"}}",
            json_escape(&hidden)
        );
        let mut f = Frames::new(direction, deflate);
        f.message(TEXT, json.as_bytes(), 9);
        f.close();
        forms.push((
            format!("ws-zero-width-json-{}", deflate.is_some()),
            f.extensions(),
            std::mem::take(&mut f.bytes),
        ));
    }
    forms
}
