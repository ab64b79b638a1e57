//! What is damaged in a Parquet file the decoder failed on: the pages are walked, so a
//! dictionary-encoded page without its dictionary is named as such instead of by the
//! decoder's assertion.

use parquet::basic::Type as PhysicalType;
use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// Checks the dictionaries of the byte-array leaf columns `leaves` in row groups `groups`
/// with the `parquet` crate's own decoder, which reads as many entries as the dictionary
/// page claims: the Arrow reader stops at the end of the page, so a dictionary claiming more
/// entries than it holds would otherwise go unnoticed. Only dictionary pages (and one record)
/// are decoded; fixed-width dictionaries are checked by the Arrow reader itself.
pub(super) fn check_byte_array_dictionaries(
    bytes: &bytes::Bytes,
    leaves: &[usize],
    groups: &[usize],
) -> Result<(), String> {
    let reader = SerializedFileReader::new(bytes.clone())
        .map_err(|e| format!("damaged Parquet file: {e}"))?;
    let metadata = reader.metadata();
    for &g in groups {
        let group = metadata.row_group(g);
        for &leaf in leaves {
            let column = group.column(leaf);
            if column.column_type() != PhysicalType::BYTE_ARRAY
                || column.dictionary_page_offset().is_none()
                || group.num_rows() == 0
            {
                continue;
            }
            let reader = reader
                .get_row_group(g)
                .and_then(|r| r.get_column_reader(leaf))
                .map_err(|e| format!("damaged Parquet file: {e}"))?;
            if let ColumnReader::ByteArrayColumnReader(mut r) = reader {
                let descr = column.column_descr();
                let mut defs = Vec::with_capacity(1);
                let mut reps = Vec::with_capacity(1);
                let mut values = Vec::with_capacity(1);
                r.read_records(
                    1,
                    (descr.max_def_level() > 0).then_some(&mut defs),
                    (descr.max_rep_level() > 0).then_some(&mut reps),
                    &mut values,
                )
                .map_err(|e| format!("damaged Parquet file: {e}"))?;
            }
        }
    }
    Ok(())
}

/// What the page walk finds wrong with a file, if anything.
pub(super) fn diagnose(bytes: &bytes::Bytes) -> Option<String> {
    let walk = || {
        let reader = SerializedFileReader::new(bytes.clone()).ok()?;
        check_damage(&reader, bytes.len() as u64).err()
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(walk))
        .ok()
        .flatten()
}

/// Checks what the decoder would otherwise assert (and panic on): column chunks inside the
/// file, and a dictionary page before any page encoded with it.
fn check_damage(reader: &SerializedFileReader<bytes::Bytes>, len: u64) -> Result<(), String> {
    use parquet::basic::Encoding;
    use parquet::column::page::Page;

    for (g, group) in reader.metadata().row_groups().iter().enumerate() {
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let size = column.compressed_size();
            if start < 0 || size < 0 || (start as u64).saturating_add(size as u64) > len {
                return Err(format!(
                    "damaged Parquet file: column chunk {c} of row group {g} lies outside the file ({start}+{size} of {len} bytes)"
                ));
            }
            let mut pages = reader
                .get_row_group(g)
                .and_then(|r| r.get_column_page_reader(c))
                .map_err(|e| format!("damaged Parquet file: {e}"))?;
            let mut dictionary = false;
            while let Some(page) = pages
                .get_next_page()
                .map_err(|e| format!("damaged Parquet file: {e}"))?
            {
                let encoding = match page {
                    Page::DictionaryPage { .. } => {
                        dictionary = true;
                        continue;
                    }
                    Page::DataPage { encoding, .. } | Page::DataPageV2 { encoding, .. } => encoding,
                };
                if matches!(
                    encoding,
                    Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY
                ) && !dictionary
                {
                    return Err(format!(
                        "damaged Parquet file: column chunk {c} of row group {g} has a dictionary-encoded page but no dictionary"
                    ));
                }
            }
        }
    }
    Ok(())
}
