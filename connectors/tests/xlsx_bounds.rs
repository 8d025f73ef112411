//! XLSX bounds: a sheet whose used range is huge and a workbook with a zip-bomb-like entry
//! are refused by the import with a message naming the sheet or entry, the range and the
//! limit, instead of aborting the process (calamine would allocate the whole range).

mod common;

use std::io::{Cursor, Read, Write};
use std::path::Path;

use weinong_connectors::limits::{XLSX_CELLS_MAX, XLSX_ENTRY_BYTES_MAX};
use weinong_connectors::synth::synthetic_secrets;
use weinong_connectors::{ConnectorError, Department, ImportOptions, Mapping, import_file};

async fn import_error(path: &Path) -> String {
    let s = common::sqlite_store().await;
    let result = import_file(
        &s.store,
        Department::CivilAffairs,
        path,
        &Mapping::default(),
        &synthetic_secrets(1),
        &ImportOptions::default(),
    )
    .await;
    match result {
        Err(e @ ConnectorError::Xlsx { .. }) => e.to_string(),
        Err(e) => panic!("expected an XLSX refusal, got {e}"),
        Ok(_) => panic!("the import accepted {}", path.display()),
    }
}

/// A workbook with a header at A1 and one more cell at XFD1048576.
fn huge_range_workbook() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "id_number").expect("A1");
    ws.write_string(1, 0, "110105194912310029").expect("A2");
    ws.write_string(1_048_575, 16_383, "x").expect("XFD1048576");
    wb.save_to_buffer().expect("save")
}

/// Copies a zip archive, editing each entry with `edit` and adding `extra` (a name and a
/// size of zero bytes, deflated as written).
fn rezip(
    src: &[u8],
    edit: impl Fn(&str, Vec<u8>) -> Vec<u8>,
    extra: Option<(&str, u64)>,
) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(src)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let name = entry.name().expect("entry name").to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read entry");
        out.start_file(name.as_str(), options).expect("start");
        out.write_all(&edit(&name, bytes)).expect("write");
    }
    if let Some((name, size)) = extra {
        out.start_file(name, options.compression_level(Some(1)))
            .expect("start extra");
        let chunk = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left.min(chunk.len() as u64)).expect("chunk");
            out.write_all(&chunk[..n]).expect("write extra");
            left -= n as u64;
        }
    }
    out.finish().expect("finish").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_used_range_is_refused_by_its_declared_dimension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.xlsx");
    std::fs::write(&path, huge_range_workbook()).expect("write");
    let message = import_error(&path).await;
    assert!(message.contains("sheet 'Sheet1'"), "{message}");
    assert!(message.contains("A1:XFD1048576"), "{message}");
    assert!(message.contains(&XLSX_CELLS_MAX.to_string()), "{message}");
    assert!(message.contains("XLSX_CELLS_MAX"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_used_range_behind_a_lying_dimension_is_refused_as_its_cells_stream() {
    // The sheet claims to span A1:A2; its cells say otherwise.
    let bytes = rezip(
        &huge_range_workbook(),
        |name, bytes| {
            if name != "xl/worksheets/sheet1.xml" {
                return bytes;
            }
            let xml = String::from_utf8(bytes).expect("xml");
            assert!(xml.contains("<dimension ref=\"A1:XFD1048576\"/>"), "{xml}");
            xml.replace(
                "<dimension ref=\"A1:XFD1048576\"/>",
                "<dimension ref=\"A1:A2\"/>",
            )
            .into_bytes()
        },
        None,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lying.xlsx");
    std::fs::write(&path, bytes).expect("write");
    let message = import_error(&path).await;
    assert!(message.contains("sheet 'Sheet1'"), "{message}");
    assert!(message.contains("A1:XFD1048576"), "{message}");
    assert!(message.contains("XLSX_CELLS_MAX"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_bomb_like_entry_is_refused_before_decompressing() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet()
        .write_string(0, 0, "id_number")
        .expect("A1");
    let small = wb.save_to_buffer().expect("save");
    // An entry of one byte over the limit, about a thousandth of it compressed.
    let bytes = rezip(
        &small,
        |_, b| b,
        Some(("xl/media/bomb.bin", XLSX_ENTRY_BYTES_MAX + 1)),
    );
    assert!(bytes.len() < 16 << 20, "{} bytes compressed", bytes.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bomb.xlsx");
    std::fs::write(&path, bytes).expect("write");
    let message = import_error(&path).await;
    assert!(message.contains("'xl/media/bomb.bin'"), "{message}");
    assert!(
        message.contains(&(XLSX_ENTRY_BYTES_MAX + 1).to_string()),
        "{message}"
    );
    assert!(message.contains("XLSX_ENTRY_BYTES_MAX"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_workbook_with_a_far_cell_still_reads() {
    // Within the limits, a stray far cell is only empty columns: the header still resolves
    // (a civil import then reports its missing fields, not an XLSX error).
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "id_number").expect("A1");
    ws.write_string(3, 100, "far").expect("CW4");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("far.xlsx");
    wb.save(&path).expect("save");
    let s = common::sqlite_store().await;
    let result = import_file(
        &s.store,
        Department::CivilAffairs,
        &path,
        &Mapping::default(),
        &synthetic_secrets(1),
        &ImportOptions::default(),
    )
    .await;
    let Err(e) = result else {
        panic!("a civil file without its columns is refused");
    };
    assert!(
        !matches!(e, ConnectorError::Xlsx { .. }),
        "refused as XLSX: {e}"
    );
}
