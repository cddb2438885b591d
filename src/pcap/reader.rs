//! Capture files, streamed: legacy pcap (micro/nanosecond, either byte
//! order) and pcapng (any number of interfaces and link types), through
//! `pcap-parser`'s incremental reader so stdin works while it is written.

use std::io::{self, Cursor, Read};

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
        "corrupt capture at byte offset {offset}: {what}; everything before it was analysed \
         (try `editcap` or Wireshark to salvage the rest)"
    )]
    Corrupt { offset: u64, what: String },
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

/// Read every frame of `input`, calling `on_frame` for each, in file order.
/// `stats` is updated as it goes, so the caller sees how far it got even
/// when an error stops the read.
pub fn read_frames<R: Read>(
    input: R,
    stats: &mut ReadStats,
    mut on_frame: impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Result<(), ReadError> {
    let mut input = input;
    let prefix = prime(&mut input)?;
    let start = prefix.clone();
    let source = Cursor::new(prefix).chain(input);
    let mut reader = match create_reader(BUFFER, source) {
        Ok(r) => r,
        Err(_) => return Err(not_a_capture(&start)),
    };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut buffer_size = BUFFER;
    loop {
        let offset = reader.consumed() as u64;
        match reader.next() {
            Ok((used, block)) => {
                stats.bytes = offset + used as u64;
                let next = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
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
                                },
                                stats,
                            )
                        }
                        None => Next::Continue,
                    },
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => {
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
            }
            Err(PcapError::Eof) => return Ok(()),
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    return Err(ReadError::Io(io::Error::other("read failed")));
                }
            }
            Err(PcapError::BufferTooSmall) => {
                if buffer_size >= MAX_RECORD {
                    return Err(ReadError::Corrupt {
                        offset,
                        what: format!("a record claims more than {} MiB", MAX_RECORD >> 20),
                    });
                }
                buffer_size *= 4;
                reader.grow(buffer_size);
                if reader.refill().is_err() {
                    return Err(ReadError::Io(io::Error::other("read failed")));
                }
            }
            Err(PcapError::UnexpectedEof) => return Err(ReadError::Truncated { offset }),
            Err(PcapError::ReadError) => {
                return Err(ReadError::Io(io::Error::other("read failed")))
            }
            Err(e) => {
                return Err(ReadError::Corrupt {
                    offset,
                    what: describe(&e),
                })
            }
        }
    }
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
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(res)) as u32;
    Timestamp { secs, nanos }
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
