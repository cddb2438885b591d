//! CRC-32C (Castagnoli) for PP2_TYPE_CRC32C (§2.2.3), on top of the `crc32c`
//! crate (hardware-accelerated where the CPU has it).

/// CRC-32C of `bytes`.
pub fn checksum(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// CRC-32C of a header whose 4-byte CRC value starts at `value_offset`,
/// computed as if those 4 bytes were zero (the receiver's rule), without
/// copying the header.
pub fn checksum_zeroed(header: &[u8], value_offset: usize) -> u32 {
    let end = (value_offset + 4).min(header.len());
    let crc = crc32c::crc32c(&header[..value_offset]);
    let crc = crc32c::crc32c_append(crc, &[0u8; 4][..end - value_offset]);
    crc32c::crc32c_append(crc, &header[end..])
}

/// Fill in the CRC of a header built with a zeroed CRC value at `value_offset`.
pub fn patch(header: &mut [u8], value_offset: usize) {
    let crc = checksum_zeroed(header, value_offset);
    header[value_offset..value_offset + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_rfc_3720() {
        assert_eq!(checksum(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn zeroed_equals_copy_with_zeros() {
        let mut h =
            hex::decode("0d0a0d0a000d0a515549540a21110013c0a80001c0a8000bdc0401bb0300041c1ae9c6")
                .unwrap();
        assert_eq!(checksum_zeroed(&h, 31), 0x1C1A_E9C6);
        h[31..35].fill(0);
        assert_eq!(checksum(&h), 0x1C1A_E9C6);
        patch(&mut h, 31);
        assert_eq!(&h[31..35], &[0x1c, 0x1a, 0xe9, 0xc6]);
    }
}
