//! Capture files, streamed: legacy pcap (micro/nanosecond, either byte
//! order) and pcapng (any number of interfaces and link types), through
//! `pcap-parser`'s incremental reader so stdin works while it is written.

use std::io::{self, Cursor, Read, Seek};

use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{create_reader, Block, PcapBlockOwned, PcapError};
use thiserror::Error;

/// Initial read buffer. Records larger than this make it grow, up to
/// [`MAX_RECORD`].
const BUFFER: usize = 1024 * 1024;
/// The largest record we accept. tcpdump's snaplen is 256 KiB; anything much
/// larger is a corrupt length field, not a packet.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;
/// pcapng Section Header Block type.
const SHB_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];

/// When a packet was captured: seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// Time elapsed since `earlier` (zero when time went backwards).
    pub fn since(self, earlier: Timestamp) -> std::time::Duration {
        let nanos = |t: Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
        let d = nanos(self) - nanos(earlier);
        std::time::Duration::from_nanos(u64::try_from(d).unwrap_or(if d > 0 {
            u64::MAX
        } else {
            0
        }))
    }

    /// This time plus `d`.
    pub fn plus(self, d: std::time::Duration) -> Timestamp {
        let nanos = u64::from(self.nanos) + u64::from(d.subsec_nanos());
        Timestamp {
            secs: self.secs + d.as_secs() as i64 + (nanos / 1_000_000_000) as i64,
            nanos: (nanos % 1_000_000_000) as u32,
        }
    }

    /// `HH:MM:SS.micros` (UTC), for tables.
    pub fn time_of_day(self) -> String {
        let day = self.secs.rem_euclid(86_400);
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            day / 3600,
            day / 60 % 60,
            day % 60,
            self.nanos / 1000
        )
    }
}

/// One captured frame, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// The pcap LINKTYPE_ value of the interface it was captured on.
    pub linktype: i32,
    pub data: &'a [u8],
    /// The records this frame stands for: 1, or the length of a run of
    /// empty records (no captured byte: a sparse file's hole, a stream of
    /// zeros, pcapng packet blocks without data on one interface), read in
    /// bulk so a hole of gigabytes costs a scan, not a call per record.
    /// `data` is then empty and `ts` is the run's first record's;
    /// `ReadStats::frames` counts every record.
    pub records: u64,
}

/// Why reading stopped before the end of the file.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("reading the capture: {0}")]
    Io(#[from] io::Error),
    #[error("the input is empty: expected a pcap or pcapng capture")]
    Empty,
    #[error(
        "not a pcap or pcapng file (it starts with {start}); write captures with `tcpdump -w FILE` \
         or save them from Wireshark as pcap/pcapng"
    )]
    NotACapture { start: String },
    #[error(
        "truncated capture at byte offset {offset}: the file ends inside a record \
         (was it copied while tcpdump was still writing?); everything before it was analysed"
    )]
    Truncated { offset: u64 },
    #[error(
        "the pcapng capture holds only its section header: it ends at byte offset {offset} \
         without an interface description or a packet, so there is nothing to analyse"
    )]
    SectionHeaderOnly { offset: u64 },
    #[error(
        "corrupt capture at byte offset {offset}: {what}; everything before it was analysed \
         (try `editcap` or Wireshark to salvage the rest)"
    )]
    Corrupt { offset: u64, what: String },
    #[error(
        "a {format}-compressed capture: decompress it first, e.g. `{format} -dc FILE | ppctl pcap -` \
         (gzip is read directly)"
    )]
    Compressed { format: &'static str },
    #[error(
        "the capture holds no packets: nothing was analysed (did tcpdump capture on the right \
         interface, with a filter that matches?)"
    )]
    NoFrames,
    #[error("none of the {frames} frames could be decoded ({reason}): nothing was analysed")]
    Undecodable { frames: u64, reason: String },
}

/// Counters kept while reading.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadStats {
    pub frames: u64,
    /// Bytes of the file consumed so far.
    pub bytes: u64,
    /// pcapng packets on an interface that was never described, or with an
    /// invalid time resolution.
    pub orphan_frames: u64,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: i32,
    /// Units per second.
    resolution: u64,
    offset: i64,
}

/// What the frame callback wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Continue,
    Stop,
}

/// gzip's magic bytes (`.pcap.gz`, `.pcapng.gz`).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd's magic bytes.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The legacy pcap magic numbers (micro/nanoseconds, either byte order).
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
/// pcapng block types this reader uses; any other well-framed block
/// (statistics, name resolution, custom, Apple's 0x80000001...) is skipped.
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Read every frame of `input`, calling `on_frame` for each, in file order.
/// A gzip-compressed capture is decompressed as it streams (recognised by
/// its magic bytes, whatever the file is called); offsets in errors are
/// then offsets in the decompressed capture.
/// `stats` is updated as it goes, so the caller sees how far it got even
/// when an error stops the read.
pub fn read_frames<R: Read>(
    input: R,
    stats: &mut ReadStats,
    on_frame: impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Result<(), ReadError> {
    let mut input = input;
    let mut magic = Vec::with_capacity(4);
    fill_to(&mut input, &mut magic, 4)?;
    if magic.is_empty() {
        return Err(ReadError::Empty);
    }
    let source = Cursor::new(magic.clone()).chain(input);
    if magic.starts_with(&GZIP_MAGIC) {
        return read_capture(flate2::read::MultiGzDecoder::new(source), stats, on_frame);
    }
    if magic == ZSTD_MAGIC {
        return Err(ReadError::Compressed { format: "zstd" });
    }
    read_capture(source, stats, on_frame)
}

/// Bytes read from a capture file at a time by [`read_file`] when it can't
/// be mapped.
const CHUNK: usize = 4 << 20;

/// Read a capture file, like [`read_frames`]. A legacy pcap file's records
/// are parsed in place: in the file's pages, mapped a window at a time
/// ([`super::mapped`]; no copy through read(2), and the resident memory
/// stays flat), or, where the file can't be mapped, in large chunks read
/// with read(2) (a record cut by a chunk's end moves to the front once).
/// Anything else (pcapng, gzip, a record over 1 MiB, a cut or corrupt one)
/// goes through the streaming reader, from where the fast path stopped,
/// and so does whatever is appended to the file after it was opened: the
/// results, errors and offsets are the streaming reader's.
pub fn read_file(
    mut file: std::fs::File,
    stats: &mut ReadStats,
    mut on_frame: impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Result<(), ReadError> {
    let mut start = [0u8; 24];
    let got = fill(&mut file, &mut start, 0).map_err(ReadError::Io)?;
    let header = match pcap_parser::pcap::parse_pcap_header(&start[..got]) {
        Ok((_, h)) if PCAP_MAGICS.iter().any(|m| start[..got].starts_with(m)) => h,
        _ => {
            return read_frames(
                Cursor::new(start[..got].to_vec()).chain(file),
                stats,
                on_frame,
            )
        }
    };
    let records = Records {
        big_endian: header.is_bigendian(),
        iface: Interface {
            linktype: header.network.0,
            resolution: if header.is_nanosecond_precision() {
                1_000_000_000
            } else {
                1_000_000
            },
            offset: 0,
        },
    };
    // The file offset where the fast path stopped, and the bytes from
    // there that it read but did not use.
    let (offset, unread) = match super::mapped::read(&file, 24, &records, stats, &mut on_frame) {
        Some(Ok(Step::Stopped)) => return Ok(()),
        Some(Ok(Step::Cut(offset))) => {
            return Err(ReadError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the file was cut shorter while it was read, at byte offset {offset} or \
                     before; everything before it was analysed"
                ),
            )))
        }
        Some(Ok(Step::Stop(offset))) => {
            file.seek(io::SeekFrom::Start(offset))
                .map_err(ReadError::Io)?;
            (offset, Vec::new())
        }
        Some(Err(e)) => return Err(ReadError::Io(e)),
        None => match read_chunks(&mut file, &records, stats, &mut on_frame)? {
            None => return Ok(()),
            Some(rest) => rest,
        },
    };
    // A record the fast path does not take, or the end of the file
    // (maybe inside a record): the streaming reader goes on from `offset`,
    // with the file header in front, and says what it finds.
    let rest = Cursor::new(start).chain(Cursor::new(unread)).chain(file);
    read_capture_at(rest, offset - 24, stats, on_frame)
}

/// How to read a legacy file's records: the byte order of their headers
/// (16 bytes: seconds, fractions, captured and original length), read
/// here in place, as `pcap_parser`'s record parser reads them.
pub(super) struct Records {
    big_endian: bool,
    iface: Interface,
}

/// Where the fast path stopped.
pub(super) enum Step {
    /// The frame callback said stop.
    Stopped,
    /// At this file offset: the streaming reader goes on from there.
    Stop(u64),
    /// The file was cut shorter while it was mapped, at this offset or
    /// before.
    Cut(u64),
}

/// What [`Records::parse_from`] came to.
pub(super) enum Parsed {
    /// The frame callback said stop.
    Stopped,
    /// The bytes end inside a record (or at the end of one).
    More,
    /// A record the fast path does not take: the streaming reader's.
    HandOff,
}

impl Records {
    /// Parse the records of `data` from `*at`, where `data[0]` is the
    /// file's byte `base`, handing each frame to `on_frame`; `*at` is left
    /// at the first record not handed on. `intact` is asked before each
    /// record is handed on: false stops there (its bytes went away).
    pub(super) fn parse_from(
        &self,
        data: &[u8],
        base: u64,
        at: &mut usize,
        stats: &mut ReadStats,
        on_frame: &mut impl FnMut(Frame<'_>, &ReadStats) -> Next,
        intact: impl Fn() -> bool,
    ) -> Parsed {
        if self.big_endian {
            self.parse_in::<true>(data, base, at, stats, on_frame, intact)
        } else {
            self.parse_in::<false>(data, base, at, stats, on_frame, intact)
        }
    }

    /// [`Records::parse_from`] in one byte order (`BIG_ENDIAN`): a
    /// record's three words were each read through a test of the file's
    /// order (~9 instructions a record).
    fn parse_in<const BIG_ENDIAN: bool>(
        &self,
        data: &[u8],
        base: u64,
        at: &mut usize,
        stats: &mut ReadStats,
        on_frame: &mut impl FnMut(Frame<'_>, &ReadStats) -> Next,
        intact: impl Fn() -> bool,
    ) -> Parsed {
        let iface = &self.iface;
        let word = |b: &[u8], at: usize| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if BIG_ENDIAN {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        loop {
            let Some(head) = data.get(*at..*at + RECORD_HEADER) else {
                return Parsed::More;
            };
            // An empty record (no time, no byte) starts a run of them.
            let empty = if head.iter().all(|b| *b == 0) {
                empty_records(&data[*at..])
            } else {
                0
            };
            if empty > 0 {
                if !intact() {
                    return Parsed::HandOff;
                }
                *at += empty * EMPTY_RECORD;
                stats.bytes = base + *at as u64;
                stats.frames += empty as u64;
                let frame = Frame {
                    ts: timestamp(iface, 0),
                    linktype: iface.linktype,
                    data: &[],
                    records: empty as u64,
                };
                if on_frame(frame, stats) == Next::Stop {
                    return Parsed::Stopped;
                }
                continue;
            }
            let (secs, fraction) = (word(head, 0), word(head, 4));
            let used = RECORD_HEADER + word(head, 8) as usize;
            let Some(bytes) = data.get(*at + RECORD_HEADER..*at + used) else {
                return Parsed::More;
            };
            if used > BUFFER || !intact() {
                return Parsed::HandOff;
            }
            *at += used;
            stats.bytes = base + *at as u64;
            stats.frames += 1;
            let frame = Frame {
                ts: record_time(iface, secs, fraction),
                linktype: iface.linktype,
                data: bytes,
                records: 1,
            };
            if on_frame(frame, stats) == Next::Stop {
                return Parsed::Stopped;
            }
        }
    }
}

/// The fast path through read(2): `None` once the frame callback said
/// stop, else the file offset where it stopped and the bytes read from
/// there.
fn read_chunks(
    file: &mut std::fs::File,
    records: &Records,
    stats: &mut ReadStats,
    on_frame: &mut impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Result<Option<(u64, Vec<u8>)>, ReadError> {
    let mut buf = vec![0u8; CHUNK];
    let mut filled = fill(file, &mut buf, 0).map_err(ReadError::Io)?;
    // `at` indexes `buf`; `base` is the file offset of `buf[0]`.
    let mut at = 0;
    let mut base = 24u64;
    loop {
        match records.parse_from(&buf[..filled], base, &mut at, stats, on_frame, || true) {
            Parsed::Stopped => return Ok(None),
            Parsed::HandOff => break,
            Parsed::More => {
                // Move the unread tail to the front and read on.
                buf.copy_within(at..filled, 0);
                base += at as u64;
                filled -= at;
                at = 0;
                let before = filled;
                filled = fill(file, &mut buf, filled).map_err(ReadError::Io)?;
                if filled == before {
                    break;
                }
            }
        }
    }
    buf.truncate(filled);
    buf.drain(..at);
    Ok(Some((base + at as u64, buf)))
}

/// Read into `buf[filled..]` until it is full or the file ends; the new
/// fill level.
fn fill(file: &mut std::fs::File, buf: &mut [u8], mut filled: usize) -> io::Result<usize> {
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A reader that remembers its last error (pcap-parser's refill only says
/// that reading failed; a cut gzip stream should say so).
struct Tracked<R> {
    inner: R,
    error: std::rc::Rc<std::cell::RefCell<Option<io::Error>>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            *self.error.borrow_mut() = Some(io::Error::new(e.kind(), e.to_string()));
        })
    }
}

/// Why `next()` gave no block, without the borrow of the reader.
enum Miss {
    Eof,
    Incomplete,
    BufferTooSmall,
    UnexpectedEof,
    ReadFailed,
    Invalid(String),
}

fn read_capture<R: Read>(
    input: R,
    stats: &mut ReadStats,
    on_frame: impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Result<(), ReadError> {
    read_capture_at(input, 0, stats, on_frame)
}

/// [`read_capture`], with offsets (in errors and `stats`) that are `base`
/// plus the offset in `input`: [`read_file`] hands it a file header
/// followed by the rest of the file from byte `base` + 24.
fn read_capture_at<R: Read>(
    input: R,
    base: u64,
    stats: &mut ReadStats,
    mut on_frame: impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Result<(), ReadError> {
    let error = std::rc::Rc::new(std::cell::RefCell::new(None));
    let mut input = Tracked {
        inner: input,
        error: error.clone(),
    };
    let read_failed = || match error.borrow_mut().take() {
        Some(e) if e.kind() == io::ErrorKind::UnexpectedEof => ReadError::Io(io::Error::new(
            e.kind(),
            format!("the compressed stream ends early ({e})"),
        )),
        Some(e) => ReadError::Io(e),
        None => ReadError::Io(io::Error::other("read failed")),
    };
    let prefix = match prime(&mut input) {
        Err(ReadError::Io(_)) if error.borrow().is_some() => return Err(read_failed()),
        other => other?,
    };
    let start = prefix.clone();
    let source = Cursor::new(prefix).chain(input);
    let mut reader = match create_reader(BUFFER, source) {
        Ok(r) => r,
        Err(_) => return Err(not_a_capture(&start)),
    };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut buffer_size = BUFFER;
    // The format and byte order, to read a record's claimed length.
    let mut ng = false;
    let mut big_endian = false;
    // A legacy file's snapshot length (0: none given), to tell a corrupt
    // captured length from a cut file.
    let mut snaplen = 0u32;
    loop {
        let offset = base + reader.consumed() as u64;
        if let Some(run) = empty_run(reader.data(), ng, big_endian, interfaces.len()) {
            stats.bytes = offset + run.len as u64;
            stats.frames += run.records;
            let next = match interfaces.get(run.interface).filter(|i| i.resolution > 0) {
                Some(iface) => on_frame(
                    Frame {
                        ts: timestamp(iface, run.first_units),
                        linktype: iface.linktype,
                        data: &[],
                        records: run.records,
                    },
                    stats,
                ),
                None => {
                    stats.orphan_frames += run.records;
                    Next::Continue
                }
            };
            reader.consume(run.len);
            if next == Next::Stop {
                return Ok(());
            }
            continue;
        }
        let miss = match reader.next() {
            Ok((used, block)) => {
                stats.bytes = offset + used as u64;
                let next = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        big_endian = h.is_bigendian();
                        snaplen = h.snaplen;
                        let resolution = if h.is_nanosecond_precision() {
                            1_000_000_000
                        } else {
                            1_000_000
                        };
                        interfaces = vec![Interface {
                            linktype: h.network.0,
                            resolution,
                            offset: 0,
                        }];
                        Next::Continue
                    }
                    PcapBlockOwned::Legacy(b) => match interfaces.first() {
                        Some(iface) => {
                            stats.frames += 1;
                            let ts = timestamp(
                                iface,
                                u64::from(b.ts_sec) * iface.resolution + u64::from(b.ts_usec),
                            );
                            on_frame(
                                Frame {
                                    ts,
                                    linktype: iface.linktype,
                                    data: b.data,
                                    records: 1,
                                },
                                stats,
                            )
                        }
                        None => Next::Continue,
                    },
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        ng = true;
                        big_endian = shb.big_endian();
                        interfaces.clear();
                        Next::Continue
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        interfaces.push(Interface {
                            linktype: idb.linktype.0,
                            resolution: idb.ts_resolution().unwrap_or(0),
                            offset: idb.ts_offset(),
                        });
                        Next::Continue
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        stats.frames += 1;
                        match interfaces
                            .get(epb.if_id as usize)
                            .filter(|i| i.resolution > 0)
                        {
                            Some(iface) => {
                                let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                let frame = Frame {
                                    ts: timestamp(iface, units),
                                    linktype: iface.linktype,
                                    data: epb.packet_data(),
                                    records: 1,
                                };
                                on_frame(frame, stats)
                            }
                            None => {
                                stats.orphan_frames += 1;
                                Next::Continue
                            }
                        }
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        stats.frames += 1;
                        match interfaces.first() {
                            // A simple packet block has no timestamp.
                            Some(iface) => on_frame(
                                Frame {
                                    ts: Timestamp::default(),
                                    linktype: iface.linktype,
                                    data: spb.packet_data(),
                                    records: 1,
                                },
                                stats,
                            ),
                            None => {
                                stats.orphan_frames += 1;
                                Next::Continue
                            }
                        }
                    }
                    PcapBlockOwned::NG(_) => Next::Continue,
                };
                reader.consume(used);
                if next == Next::Stop {
                    return Ok(());
                }
                continue;
            }
            Err(PcapError::Eof) => Miss::Eof,
            Err(PcapError::Incomplete(_)) => Miss::Incomplete,
            Err(PcapError::BufferTooSmall) => Miss::BufferTooSmall,
            Err(PcapError::UnexpectedEof) => Miss::UnexpectedEof,
            Err(PcapError::ReadError) => Miss::ReadFailed,
            Err(e) => Miss::Invalid(describe(&e)),
        };
        // A block pcap-parser can't parse (a custom or unknown type with
        // a body it misreads) but whose framing is sound: skip it.
        if ng && !matches!(miss, Miss::Eof | Miss::ReadFailed) {
            if let Some(len) = skippable(reader.data(), big_endian) {
                stats.bytes = offset + len as u64;
                reader.consume(len);
                continue;
            }
        }
        let too_long = || {
            claimed_len(reader.data(), ng, big_endian)
                .filter(|n| *n > MAX_RECORD as u64)
                .map(|n| ReadError::Corrupt {
                    offset,
                    what: format!(
                        "a record claims {n} bytes, more than the {} MiB limit",
                        MAX_RECORD >> 20
                    ),
                })
        };
        // A record whose own fields contradict each other is corrupt, even
        // where the reader only sees that it runs past the end of the file.
        let contradicts = || {
            contradiction(reader.data(), ng, big_endian, snaplen)
                .map(|what| ReadError::Corrupt { offset, what })
        };
        match miss {
            // A pcapng file that ends, between blocks, right after its
            // section header: nothing is cut, there is just nothing in it.
            Miss::Eof if ng && interfaces.is_empty() && stats.frames == 0 => {
                return Err(ReadError::SectionHeaderOnly { offset })
            }
            Miss::Eof => return Ok(()),
            Miss::Incomplete => {
                if reader.refill().is_err() {
                    return Err(read_failed());
                }
            }
            Miss::BufferTooSmall => {
                if let Some(e) = too_long() {
                    return Err(e);
                }
                if buffer_size >= MAX_RECORD {
                    return Err(ReadError::Corrupt {
                        offset,
                        what: format!("a record claims more than {} MiB", MAX_RECORD >> 20),
                    });
                }
                buffer_size *= 4;
                reader.grow(buffer_size);
                if reader.refill().is_err() {
                    return Err(read_failed());
                }
            }
            // A length over the limit is a corrupt field, not a cut file.
            Miss::UnexpectedEof => {
                return Err(too_long()
                    .or_else(contradicts)
                    .unwrap_or(ReadError::Truncated { offset }))
            }
            Miss::ReadFailed => return Err(read_failed()),
            Miss::Invalid(what) => {
                return Err(too_long()
                    .or_else(contradicts)
                    .unwrap_or(ReadError::Corrupt { offset, what }))
            }
        }
    }
}

/// A legacy record with nothing in it: no timestamp, no captured or
/// original length (16 zero bytes, what a sparse file's hole reads as).
const EMPTY_RECORD: usize = 16;
/// A legacy record's header: seconds, fraction, captured and original
/// length (an empty record is a header of zeros).
const RECORD_HEADER: usize = 16;
/// A pcapng enhanced packet block without data or options.
const EMPTY_PACKET_BLOCK: usize = 32;

/// The whole empty legacy records at the start of `data`.
fn empty_records(data: &[u8]) -> usize {
    data.chunks_exact(EMPTY_RECORD)
        .take_while(|r| r.iter().all(|b| *b == 0))
        .count()
}

/// A run of empty records at the start of a reader's buffer.
struct EmptyRun {
    records: u64,
    /// Its bytes.
    len: usize,
    /// The interface its records were captured on (an index into the
    /// interfaces described so far; legacy: 0).
    interface: usize,
    /// The first record's timestamp, in the interface's units.
    first_units: u64,
}

/// The run of empty records at the start of `data`, if any: empty legacy
/// records once the file header is read (`interfaces` is 1), or pcapng
/// packet blocks of 32 bytes that capture nothing, on one interface.
fn empty_run(data: &[u8], ng: bool, big_endian: bool, interfaces: usize) -> Option<EmptyRun> {
    if !ng {
        let records = if interfaces > 0 {
            empty_records(data)
        } else {
            0
        };
        return (records > 0).then_some(EmptyRun {
            records: records as u64,
            len: records * EMPTY_RECORD,
            interface: 0,
            first_units: 0,
        });
    }
    let field = |b: &[u8], at: usize| read_u32(&b[at..at + 4], big_endian);
    let empty = |b: &[u8]| {
        field(b, 0) == EPB
            && field(b, 4) as usize == EMPTY_PACKET_BLOCK
            && field(b, 20) == 0
            && field(b, 28) as usize == EMPTY_PACKET_BLOCK
    };
    let mut blocks = data.chunks_exact(EMPTY_PACKET_BLOCK);
    let first = blocks.next().filter(|b| empty(b))?;
    let interface = field(first, 8);
    let records = 1 + blocks
        .take_while(|b| empty(b) && field(b, 8) == interface)
        .count();
    Some(EmptyRun {
        records: records as u64,
        len: records * EMPTY_PACKET_BLOCK,
        interface: interface as usize,
        first_units: (u64::from(field(first, 12)) << 32) | u64::from(field(first, 16)),
    })
}

/// The length a record at the start of `data` claims: a legacy record's
/// captured length plus its 16-byte header, or a pcapng block's length.
fn claimed_len(data: &[u8], ng: bool, big_endian: bool) -> Option<u64> {
    let at = if ng { 4 } else { 8 };
    let n = u64::from(read_u32(data.get(at..at + 4)?, big_endian));
    Some(if ng { n } else { n + 16 })
}

/// What makes the record at the start of `data` corrupt rather than cut:
/// a pcapng packet block that is whole (its length fields agree) but claims
/// more captured bytes than it holds, or a legacy record that claims more
/// captured bytes than the packet had or than the file's snapshot length.
fn contradiction(data: &[u8], ng: bool, big_endian: bool, snaplen: u32) -> Option<String> {
    let u32_at = |at: usize| data.get(at..at + 4).map(|b| read_u32(b, big_endian));
    if ng {
        if u32_at(0)? != EPB {
            return None;
        }
        let len = u32_at(4)? as usize;
        // The block is all there: its trailing length repeats the first.
        if len < 32 || u32_at(len.checked_sub(4)?)? as usize != len {
            return None;
        }
        let (caplen, room) = (u32_at(20)?, len - 32);
        return (caplen as usize > room).then(|| {
            format!(
                "a packet block of {len} bytes claims {caplen} captured bytes \
                 (its captured length field is corrupt: the block holds at most {room})"
            )
        });
    }
    let (caplen, origlen) = (u32_at(8)?, u32_at(12)?);
    if caplen > origlen {
        Some(format!(
            "a record claims {caplen} captured bytes of a {origlen}-byte packet \
             (its captured length field is corrupt)"
        ))
    } else if snaplen > 0 && caplen > snaplen {
        Some(format!(
            "a record claims {caplen} captured bytes, more than the capture's \
             snapshot length of {snaplen} (its captured length field is corrupt)"
        ))
    } else {
        None
    }
}

fn read_u32(b: &[u8], big_endian: bool) -> u32 {
    let raw = [b[0], b[1], b[2], b[3]];
    if big_endian {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    }
}

/// The length of a complete, well-framed pcapng block at the start of
/// `data` whose type this reader does not use.
fn skippable(data: &[u8], big_endian: bool) -> Option<usize> {
    let kind = read_u32(data.get(..4)?, big_endian);
    if matches!(kind, SHB | IDB | SPB | EPB) {
        return None;
    }
    let len = read_u32(data.get(4..8)?, big_endian) as usize;
    if len < 12 || len % 4 != 0 || len > MAX_RECORD {
        return None;
    }
    let trailer = data.get(len - 4..len)?;
    (read_u32(trailer, big_endian) as usize == len).then_some(len)
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("an invalid block or record ({})", kind.description())
        }
        PcapError::HeaderNotRecognized => "an unrecognised block".to_string(),
        other => format!("{other:?}"),
    }
}

fn timestamp(iface: &Interface, units: u64) -> Timestamp {
    let res = iface.resolution.max(1);
    let secs = (units / res) as i64 + iface.offset;
    let frac = units % res;
    // In 64 bits when the product fits (it does below 2^34: every
    // resolution up to picoseconds); a u128 division is a library call.
    let nanos = if frac < 1 << 34 {
        (frac * 1_000_000_000 / res) as u32
    } else {
        (u128::from(frac) * 1_000_000_000 / u128::from(res)) as u32
    };
    Timestamp { secs, nanos }
}

/// A legacy record's time: whole seconds and a fraction in the file's
/// resolution (micro- or nanoseconds), as [`timestamp`] reads
/// `secs * resolution + fraction`, without its divisions when the
/// fraction is below a second (a fraction of a second or more carries
/// into the seconds there).
#[inline]
fn record_time(iface: &Interface, secs: u32, fraction: u32) -> Timestamp {
    match iface.resolution {
        1_000_000 if fraction < 1_000_000 => Timestamp {
            secs: i64::from(secs) + iface.offset,
            nanos: fraction * 1000,
        },
        1_000_000_000 if fraction < 1_000_000_000 => Timestamp {
            secs: i64::from(secs) + iface.offset,
            nanos: fraction,
        },
        _ => timestamp(
            iface,
            u64::from(secs) * iface.resolution + u64::from(fraction),
        ),
    }
}

fn not_a_capture(start: &[u8]) -> ReadError {
    let n = start.len().min(8);
    ReadError::NotACapture {
        start: format!("0x{}", hex::encode(&start[..n])),
    }
}

/// Read just the file header (legacy pcap: 24 bytes; pcapng: the whole
/// section header block) so `create_reader`, which looks at its first read
/// only, can tell the format even when stdin delivers a few bytes at a time.
fn prime<R: Read>(input: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::with_capacity(64);
    fill_to(input, &mut buf, 12)?;
    if buf.is_empty() {
        return Err(ReadError::Empty);
    }
    // A capture's magic, cut inside the file header: truncated, not garbage.
    let magic = &buf[..buf.len().min(4)];
    let known = PCAP_MAGICS
        .iter()
        .chain([&SHB_MAGIC])
        .any(|m| m.starts_with(magic));
    if known && buf.len() < 12 {
        return Err(ReadError::Truncated {
            offset: buf.len() as u64,
        });
    }
    let want = if buf.starts_with(&SHB_MAGIC) && buf.len() >= 12 {
        let raw = [buf[4], buf[5], buf[6], buf[7]];
        // The byte-order magic 0x1A2B3C4D tells how to read the length.
        let len = if buf[8..12] == [0x4D, 0x3C, 0x2B, 0x1A] {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        } as usize;
        if !(28..=MAX_RECORD).contains(&len) {
            return Err(not_a_capture(&buf));
        }
        len
    } else {
        24
    };
    fill_to(input, &mut buf, want)?;
    if known && buf.len() < want {
        return Err(ReadError::Truncated {
            offset: buf.len() as u64,
        });
    }
    Ok(buf)
}

fn fill_to<R: Read>(input: &mut R, buf: &mut Vec<u8>, want: usize) -> Result<(), ReadError> {
    let mut chunk = [0u8; 4096];
    while buf.len() < want {
        let room = (want - buf.len()).min(chunk.len());
        match input.read(&mut chunk[..room]) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_is_utc() {
        let t = Timestamp {
            secs: 86_400 + 3661,
            nanos: 5_000,
        };
        assert_eq!(t.time_of_day(), "01:01:01.000005");
    }

    /// The file path gives the streaming reader's frames, counters and
    /// errors, whatever the file's state, across its chunks' ends too.
    #[test]
    fn a_file_reads_like_a_stream() {
        use crate::pcap::synth;
        let ts = Timestamp {
            secs: 1_700_000_000,
            nanos: 5_000,
        };
        let mut files: Vec<Vec<u8>> = Vec::new();
        for (nanos, big_endian) in [(false, false), (true, true)] {
            let mut f = synth::pcap_header(1, nanos, big_endian);
            for i in 0..50u8 {
                f.extend(synth::pcap_record(
                    ts,
                    &vec![i; 60 + usize::from(i)],
                    nanos,
                    big_endian,
                ));
            }
            files.push(f.clone());
            files.push(f[..f.len() - 7].to_vec()); // cut inside a record
            let mut huge = f.clone();
            huge.extend(synth::pcap_record(ts, &[1; 20], nanos, big_endian));
            let at = huge.len() - 20 - 8;
            huge[at..at + 4].copy_from_slice(&[0x7f; 4]); // a corrupt length
            files.push(huge);
        }
        // Records across the ends of the 4 MiB chunks, and one cut there.
        let mut long = synth::pcap_header(1, false, false);
        let mut i = 0u32;
        while long.len() < CHUNK * 2 + 5000 {
            let len = 1400 + (i % 200) as usize;
            long.extend(synth::pcap_record(ts, &vec![i as u8; len], false, false));
            i += 1;
        }
        files.push(long[..CHUNK + 700].to_vec());
        files.push(long);
        let mut ng = synth::pcapng_section();
        ng.extend(synth::pcapng_interface(1));
        ng.extend(synth::pcapng_packet(0, ts, &[9; 70]));
        files.push(ng);
        files.push(b"not a capture at all, but long enough".to_vec());
        let dir = tempfile::tempdir().unwrap();
        for (i, bytes) in files.iter().enumerate() {
            let path = dir.path().join(format!("{i}.pcap"));
            std::fs::write(&path, bytes).unwrap();
            let run = |mapped: bool| {
                let mut stats = ReadStats::default();
                let mut seen = Vec::new();
                let on = |f: Frame<'_>, st: &ReadStats| {
                    seen.push((f.ts, f.linktype, f.data.to_vec(), st.bytes));
                    Next::Continue
                };
                let file = std::fs::File::open(&path).unwrap();
                let r = if mapped {
                    read_file(file, &mut stats, on)
                } else {
                    read_frames(file, &mut stats, on)
                };
                (format!("{r:?}"), stats.frames, stats.bytes, seen)
            };
            assert_eq!(run(true), run(false), "file {i}");
        }
    }

    /// Read a file of 12 MiB of records that is cut to `len` bytes while
    /// its first frame is handed on: the result, the counters, the
    /// records handed on, and whether the cut was made.
    fn read_cut_to(len: u64) -> (Result<(), ReadError>, ReadStats, u64, bool) {
        use crate::pcap::synth;
        let ts = Timestamp {
            secs: 1_700_000_000,
            nanos: 0,
        };
        let mut bytes = synth::pcap_header(1, false, false);
        while bytes.len() < CHUNK * 3 {
            bytes.extend(synth::pcap_record(ts, &[7; 1500], false, false));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.pcap");
        std::fs::write(&path, &bytes).unwrap();
        let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut stats = ReadStats::default();
        let mut cut = false;
        let mut frames = 0u64;
        let r = read_file(std::fs::File::open(&path).unwrap(), &mut stats, |f, _| {
            if !cut {
                writer.set_len(len).unwrap();
                cut = true;
            }
            frames += f.records;
            Next::Continue
        });
        (r, stats, frames, cut)
    }

    /// A file cut shorter while it is read ends early (past the window
    /// being read: that window is read whole, the next is mapped as the
    /// file is then).
    #[test]
    fn a_file_cut_while_it_is_read_ends_early() {
        let (r, stats, _, cut) = read_cut_to(CHUNK as u64 + 100);
        assert!(cut);
        assert!(r.is_err(), "the cut record is reported: {r:?}");
        assert!(
            stats.frames > 1 && stats.bytes <= CHUNK as u64 + 100,
            "{stats:?}"
        );
    }

    /// A file cut inside the window being read: the read fails there,
    /// loudly, instead of dying of SIGBUS.
    #[test]
    fn a_file_cut_inside_the_mapped_window_fails() {
        let (r, stats, frames, _) = read_cut_to(200_000);
        let err = r.expect_err("the cut is reported").to_string();
        assert!(err.contains("cut shorter while it was read"), "{err}");
        assert!(stats.bytes <= 200_000 + 65_536, "{stats:?}");
        assert!(frames > 100, "{frames}");
    }

    #[test]
    fn garbage_is_not_a_capture() {
        let mut stats = ReadStats::default();
        let err = read_frames(
            &b"hello world, this is not a pcap"[..],
            &mut stats,
            |_, _| Next::Continue,
        );
        assert!(matches!(err, Err(ReadError::NotACapture { .. })));
        let err = read_frames(&b""[..], &mut stats, |_, _| Next::Continue);
        assert!(matches!(err, Err(ReadError::Empty)));
    }
}
