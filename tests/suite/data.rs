//! The data readers and checker on small VisA- and MVTec-layout trees that
//! these tests write to temporary folders. Expected counts come from the
//! fixture's construction, worked out in comments, not from the readers.

use std::io::Cursor;
use std::path::Path;

use image::{ImageBuffer, ImageFormat, Luma, Rgb};
use spotdiff::data::{
    check_mvtec, check_visa, read_mvtec, read_visa, verify, DataError, DecodeError, DirSource,
    Label, SizeLimit, Split, VisaSplit,
};

/// Images in the fixtures are 16 × 12.
const W: u32 = 16;
const H: u32 = 12;

fn jpeg(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([shade, (x * 8) as u8, (y * 8) as u8])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .unwrap();
    bytes
}

/// A mask of class id `id` on the `bw × bh` block at (1, 1).
fn mask(width: u32, height: u32, bw: u32, bh: u32, id: u8) -> Vec<u8> {
    let image: ImageBuffer<Luma<u8>, _> = ImageBuffer::from_fn(width, height, |x, y| {
        Luma([if (1..=bw).contains(&x) && (1..=bh).contains(&y) {
            id
        } else {
            0
        }])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn normal(object: &str, n: usize) -> String {
    format!("{object}/Data/Images/Normal/{n:04}.JPG")
}

fn anomaly(object: &str, n: usize) -> String {
    format!("{object}/Data/Images/Anomaly/{n:03}.JPG")
}

fn mask_path(object: &str, n: usize) -> String {
    format!("{object}/Data/Masks/Anomaly/{n:03}.png")
}

fn row(object: &str, split: &str, label: &str, n: usize) -> String {
    match label {
        "normal" => format!("{object},{split},normal,{},\n", normal(object, n)),
        _ => format!(
            "{object},{split},anomaly,{},{}\n",
            anomaly(object, n),
            mask_path(object, n)
        ),
    }
}

const HEADER: &str = "object,split,label,image,mask\n";

/// candle: normals 0..10, anomalies 0..12; pcb1: normals 0..10, anomalies
/// 0..7. Anomaly n's mask marks a (n+1) × 2 block with class id n+1.
fn visa_tree(root: &Path) {
    for (object, anomalies) in [("candle", 12), ("pcb1", 7)] {
        for n in 0..10 {
            write(root, &normal(object, n), &jpeg(W, H, n as u8 * 20));
        }
        for n in 0..anomalies {
            write(root, &anomaly(object, n), &jpeg(W, H, 200));
            write(
                root,
                &mask_path(object, n),
                &mask(W, H, n as u32 + 1, 2, n as u8 + 1),
            );
        }
    }
    let mut one_class = HEADER.to_string();
    let mut high_shot = HEADER.to_string();
    let mut few_shot = HEADER.to_string();
    for (object, anomalies, high_train) in [("candle", 12, 7), ("pcb1", 7, 4)] {
        // 1cls: normals 0..9 train, 9 test; every anomaly test.
        for n in 0..10 {
            one_class += &row(object, if n < 9 { "train" } else { "test" }, "normal", n);
        }
        for n in 0..anomalies {
            one_class += &row(object, "test", "anomaly", n);
        }
        // highshot: normals 0..6 train, 6..10 test; anomalies ⌊0.6·k⌋ train.
        for n in 0..10 {
            high_shot += &row(object, if n < 6 { "train" } else { "test" }, "normal", n);
        }
        for n in 0..anomalies {
            let split = if n < high_train { "train" } else { "test" };
            high_shot += &row(object, split, "anomaly", n);
        }
    }
    // fewshot, objects interleaved row by row: normals 0..6 train, 6..10
    // test; candle's training anomalies listed 10, 9, ..., 0 (not name
    // order), 11 test; pcb1's listed 0..6, 6 test.
    for n in 0..10 {
        let split = if n < 6 { "train" } else { "test" };
        few_shot += &row("candle", split, "normal", n);
        few_shot += &row("pcb1", split, "normal", n);
    }
    for k in 0..11 {
        few_shot += &row("candle", "train", "anomaly", 10 - k);
        if k < 6 {
            few_shot += &row("pcb1", "train", "anomaly", k);
        }
    }
    few_shot += &row("candle", "test", "anomaly", 11);
    few_shot += &row("pcb1", "test", "anomaly", 6);
    write(root, "split_csv/1cls.csv", one_class.as_bytes());
    write(root, "split_csv/2cls_highshot.csv", high_shot.as_bytes());
    write(root, "split_csv/2cls_fewshot.csv", few_shot.as_bytes());
}

/// (split, label) counts of one object.
fn counts(dataset: &spotdiff::data::Dataset, object: &str) -> [usize; 4] {
    [
        dataset.count(object, Split::Train, Label::Normal),
        dataset.count(object, Split::Train, Label::Anomaly),
        dataset.count(object, Split::Test, Label::Normal),
        dataset.count(object, Split::Test, Label::Anomaly),
    ]
}

#[test]
fn visa_splits_have_the_constructed_counts() {
    let dir = tempfile::tempdir().unwrap();
    visa_tree(dir.path());
    let source = DirSource::new(dir.path());
    // [train normal, train anomaly, test normal, test anomaly]
    let expected: [(VisaSplit, [usize; 4], [usize; 4]); 5] = [
        (VisaSplit::OneClass, [9, 0, 1, 12], [9, 0, 1, 7]),
        (VisaSplit::HighShot, [6, 7, 4, 5], [6, 4, 4, 3]),
        (VisaSplit::FewShot, [6, 11, 4, 1], [6, 6, 4, 1]),
        // 5-shot: 5 of candle's 11 and of pcb1's 6; 10-shot: 10 and all 6.
        (VisaSplit::FiveShot, [6, 5, 4, 1], [6, 5, 4, 1]),
        (VisaSplit::TenShot, [6, 10, 4, 1], [6, 6, 4, 1]),
    ];
    for (split, candle, pcb1) in expected {
        let dataset = read_visa(&source, split).unwrap();
        assert_eq!(counts(&dataset, "candle"), candle, "{split} candle");
        assert_eq!(counts(&dataset, "pcb1"), pcb1, "{split} pcb1");
        assert_eq!(dataset.objects(), ["candle", "pcb1"], "{split}");
        for sample in &dataset.samples {
            assert_eq!(
                sample.mask.is_some(),
                sample.label == Label::Anomaly,
                "{}",
                sample.describe()
            );
        }
    }
}

#[test]
fn few_shot_subsets_take_the_first_anomalies_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    visa_tree(dir.path());
    let source = DirSource::new(dir.path());
    let train_anomalies = |split, object: &str| -> Vec<String> {
        read_visa(&source, split)
            .unwrap()
            .select(object, Split::Train)
            .filter(|s| s.label == Label::Anomaly)
            .map(|s| s.image.clone())
            .collect()
    };
    // candle is listed 10, 9, ..., 0: the first five are 10..=6.
    let candle: Vec<String> = (6..=10).rev().map(|n| anomaly("candle", n)).collect();
    assert_eq!(train_anomalies(VisaSplit::FiveShot, "candle"), candle);
    let candle: Vec<String> = (1..=10).rev().map(|n| anomaly("candle", n)).collect();
    assert_eq!(train_anomalies(VisaSplit::TenShot, "candle"), candle);
    let pcb1: Vec<String> = (0..5).map(|n| anomaly("pcb1", n)).collect();
    assert_eq!(train_anomalies(VisaSplit::FiveShot, "pcb1"), pcb1);
    // Every other row of 2cls_fewshot.csv is unchanged: 40 rows in all
    // (20 normals, 17 training and 2 test anomalies) minus the 6 + 1 cut.
    let whole = read_visa(&source, VisaSplit::FewShot).unwrap();
    let five = read_visa(&source, VisaSplit::FiveShot).unwrap();
    assert_eq!(whole.samples.len(), 39);
    assert_eq!(five.samples.len(), 39 - 6 - 1);
    let kept: Vec<_> = whole
        .samples
        .iter()
        .filter(|s| !(s.split == Split::Train && s.label == Label::Anomaly))
        .collect();
    let five_others: Vec<_> = five
        .samples
        .iter()
        .filter(|s| !(s.split == Split::Train && s.label == Label::Anomaly))
        .collect();
    assert_eq!(kept, five_others);
}

#[test]
fn visa_masks_and_images_load_lazily_and_binarise() {
    let dir = tempfile::tempdir().unwrap();
    visa_tree(dir.path());
    let source = DirSource::new(dir.path());
    let limit = SizeLimit::default();
    let dataset = read_visa(&source, VisaSplit::OneClass).unwrap();
    for sample in dataset.select("candle", Split::Test) {
        let image = sample.load_image(&source, &limit).unwrap();
        assert_eq!((image.width, image.height), (W, H));
        let mask = sample
            .load_mask(&source, &limit, image.width, image.height)
            .unwrap();
        let marked = mask.pixels.iter().filter(|&&p| p).count();
        let expected = match sample.label {
            Label::Normal => 0,
            // Anomaly n marks an (n+1) × 2 block (class id n+1, never 0).
            Label::Anomaly => {
                let n: usize = sample.image[sample.image.len() - 7..sample.image.len() - 4]
                    .parse()
                    .unwrap();
                (n + 1) * 2
            }
        };
        assert_eq!(marked, expected, "{}", sample.describe());
    }
    let report = check_visa(&source, VisaSplit::OneClass, &limit);
    assert_eq!(report.problems, []);
    // 20 normals + 19 anomalies + 19 masks, each checked once; rows: 39 in
    // each of the three CSVs.
    assert_eq!(
        report.to_string(),
        "checked 117 samples and 58 files: no problems"
    );
}

/// bottle: train/good 4, test/good 2, test/broken_large 3 and
/// test/contamination 1, all with masks; cable: train/good 2, test/good 1,
/// test/bent_wire 2, the second without its mask.
fn mvtec_tree(root: &Path) {
    let png = |shade: u8| {
        let image: ImageBuffer<Rgb<u8>, _> = ImageBuffer::from_pixel(W, H, Rgb([shade, 0, 0]));
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    };
    write(root, "license.txt", b"CC BY-NC-SA 4.0");
    let tree: [(&str, &str, usize, bool); 7] = [
        ("bottle", "train/good", 4, false),
        ("bottle", "test/good", 2, false),
        ("bottle", "test/broken_large", 3, true),
        ("bottle", "test/contamination", 1, true),
        ("cable", "train/good", 2, false),
        ("cable", "test/good", 1, false),
        ("cable", "test/bent_wire", 2, true),
    ];
    for (class, folder, count, masks) in tree {
        for n in 0..count {
            write(root, &format!("{class}/{folder}/{n:03}.png"), &png(n as u8));
            let defect = folder.trim_start_matches("test/");
            if masks && !(class == "cable" && n == 1) {
                write(
                    root,
                    &format!("{class}/ground_truth/{defect}/{n:03}_mask.png"),
                    &mask(W, H, 2, 2, 255),
                );
            }
        }
    }
}

#[test]
fn mvtec_tree_reads_classes_labels_and_masks() {
    let dir = tempfile::tempdir().unwrap();
    mvtec_tree(dir.path());
    let source = DirSource::new(dir.path());
    let (dataset, problems) = spotdiff::data::scan_mvtec(&source);
    assert_eq!(problems, []);
    assert_eq!(dataset.objects(), ["bottle", "cable"]);
    assert_eq!(counts(&dataset, "bottle"), [4, 0, 2, 4]);
    assert_eq!(counts(&dataset, "cable"), [2, 0, 1, 2]);
    let masks: Vec<Option<&str>> = dataset
        .select("cable", Split::Test)
        .map(|s| s.mask.as_deref())
        .collect();
    // Defect folders in name order: bent_wire, then good.
    assert_eq!(
        masks,
        [
            Some("cable/ground_truth/bent_wire/000_mask.png"),
            None,
            None
        ]
    );
    let report = check_mvtec(&source, &SizeLimit::default());
    // 15 images and 5 masks: bottle's 3 + 1, cable's 1.
    assert_eq!(
        report.to_string(),
        "checked 15 samples and 20 files: 1 problem\n  \
         `cable/test/bent_wire/001.png`: an anomaly without a mask: segmentation metrics need one"
    );
    assert!(matches!(read_mvtec(&source), Ok(d) if d.samples.len() == 15));
}

/// The smallest complete VisA tree: one object, two normals and one anomaly
/// (16 × 12, mask block 3 × 2), listed alike in all three CSVs.
fn small_visa(root: &Path) {
    write(root, "obj/Data/Images/Normal/0.JPG", &jpeg(W, H, 10));
    write(root, "obj/Data/Images/Normal/1.JPG", &jpeg(W, H, 90));
    write(root, "obj/Data/Images/Anomaly/0.JPG", &jpeg(W, H, 200));
    write(root, "obj/Data/Masks/Anomaly/0.png", &mask(W, H, 3, 2, 4));
    for csv in VisaSplit::FILES {
        write(root, csv, SMALL_CSV.as_bytes());
    }
}

const SMALL_CSV: &str = "object,split,label,image,mask\n\
    obj,train,normal,obj/Data/Images/Normal/0.JPG,\n\
    obj,test,normal,obj/Data/Images/Normal/1.JPG,\n\
    obj,test,anomaly,obj/Data/Images/Anomaly/0.JPG,obj/Data/Masks/Anomaly/0.png\n";

/// Breaks a fresh small tree with `breakage` and returns the checker's
/// messages.
fn problems_after(breakage: impl FnOnce(&Path)) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    small_visa(dir.path());
    breakage(dir.path());
    let report = check_visa(
        &DirSource::new(dir.path()),
        VisaSplit::OneClass,
        &SizeLimit::default(),
    );
    report.problems.iter().map(ToString::to_string).collect()
}

const N1: &str = "obj/Data/Images/Normal/1.JPG";
const MASK: &str = "obj/Data/Masks/Anomaly/0.png";

#[test]
fn broken_the_small_tree_is_clean() {
    assert_eq!(problems_after(|_| {}), Vec::<String>::new());
}

#[test]
fn broken_missing_file() {
    let messages = problems_after(|root| std::fs::remove_file(root.join(N1)).unwrap());
    assert_eq!(
        messages,
        ["`obj/Data/Images/Normal/1.JPG` (split_csv/1cls.csv line 3): no such file"]
    );
}

#[test]
fn broken_missing_csv_is_a_problem_only_for_its_split() {
    let dir = tempfile::tempdir().unwrap();
    small_visa(dir.path());
    std::fs::remove_file(dir.path().join("split_csv/2cls_highshot.csv")).unwrap();
    let source = DirSource::new(dir.path());
    let limit = SizeLimit::default();
    let report = check_visa(&source, VisaSplit::OneClass, &limit);
    assert_eq!(report.problems, []);
    assert_eq!(report.absent, ["split_csv/2cls_highshot.csv"]);
    let report = check_visa(&source, VisaSplit::HighShot, &limit);
    let messages: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["`split_csv/2cls_highshot.csv`: no such file"]);
    assert!(report.absent.is_empty());
}

#[test]
fn broken_undecodable_image() {
    let messages = problems_after(|root| write(root, N1, b"hello world"));
    assert_eq!(
        messages,
        ["`obj/Data/Images/Normal/1.JPG` (split_csv/1cls.csv line 3): not a JPEG or PNG file (the first bytes are 68 65 6c 6c 6f 20 77 6f)"]
    );
}

#[test]
fn broken_truncated_jpeg() {
    let messages = problems_after(|root| {
        let bytes = jpeg(W, H, 90);
        write(root, N1, &bytes[..bytes.len() / 2]);
    });
    assert_eq!(
        messages,
        ["`obj/Data/Images/Normal/1.JPG` (split_csv/1cls.csv line 3): the JPEG data ends before its end-of-image marker: the file is truncated"]
    );
}

#[test]
fn broken_truncated_png_mask() {
    let messages = problems_after(|root| {
        let bytes = mask(W, H, 3, 2, 4);
        write(root, MASK, &bytes[..bytes.len() - 20]);
    });
    // The reason after the prefix is the PNG decoder's own words.
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with(
            "`obj/Data/Masks/Anomaly/0.png` (split_csv/1cls.csv line 4): the PNG data is corrupt or truncated: "
        ),
        "{messages:?}"
    );
}

#[test]
fn broken_mask_size_differs_from_its_image() {
    let messages = problems_after(|root| write(root, MASK, &mask(8, 6, 3, 2, 4)));
    assert_eq!(
        messages,
        ["`obj/Data/Masks/Anomaly/0.png` (split_csv/1cls.csv line 4): the mask is 8x6 but its image `obj/Data/Images/Anomaly/0.JPG` is 16x12"]
    );
}

#[test]
fn broken_empty_mask() {
    let messages = problems_after(|root| write(root, MASK, &mask(W, H, 0, 0, 4)));
    assert_eq!(
        messages,
        ["`obj/Data/Masks/Anomaly/0.png` (split_csv/1cls.csv line 4): the mask marks no pixel: an anomaly's mask must mark its defect"]
    );
}

#[test]
fn broken_anomaly_without_mask() {
    let messages = problems_after(|root| {
        let csv = SMALL_CSV.replace(",obj/Data/Masks/Anomaly/0.png", ",");
        write(root, "split_csv/1cls.csv", csv.as_bytes());
    });
    assert_eq!(
        messages,
        ["`obj/Data/Images/Anomaly/0.JPG` (split_csv/1cls.csv line 4): an anomaly without a mask: segmentation metrics need one"]
    );
}

#[test]
fn broken_missing_columns() {
    let messages = problems_after(|root| {
        let csv = SMALL_CSV
            .replace("object,split,label,", "object,split,")
            .replace(",normal,", ",")
            .replace(",anomaly,", ",");
        write(root, "split_csv/2cls_fewshot.csv", csv.as_bytes());
    });
    assert_eq!(
        messages,
        ["split_csv/2cls_fewshot.csv line 1: the header has no `label` column (found: `object`, `split`, `image`, `mask`); VisA's split CSVs need the header `object,split,label,image,mask`"]
    );
}

#[test]
fn broken_unknown_labels_and_splits() {
    let messages = problems_after(|root| {
        let csv = SMALL_CSV
            .replace("obj,train,normal", "obj,train,good")
            .replace("obj,test,anomaly", "obj,validation,anomaly");
        write(root, "split_csv/1cls.csv", csv.as_bytes());
    });
    assert_eq!(
        messages,
        [
            "split_csv/1cls.csv line 2: label `good` is not one of `normal`, `anomaly`",
            "split_csv/1cls.csv line 4: split `validation` is not one of `train`, `test`",
        ]
    );
}

#[test]
fn broken_duplicate_rows() {
    let messages = problems_after(|root| {
        let csv = format!("{SMALL_CSV}obj,test,normal,obj/Data/Images/Normal/0.JPG,\n");
        write(root, "split_csv/2cls_highshot.csv", csv.as_bytes());
    });
    assert_eq!(
        messages,
        ["split_csv/2cls_highshot.csv line 5: lists `obj/Data/Images/Normal/0.JPG` again (first listed on line 2)"]
    );
}

/// A real PNG whose IHDR (and its CRC) is rewritten to claim another size.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = mask(W, H, 1, 1, 1);
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// A real JPEG whose frame header (SOF0) claims another size.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(W, H, 0);
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("the encoder writes a baseline frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// CRC-32 (ISO 3309, as PNG and zlib use), bit by bit.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn broken_decompression_bombs_are_refused_from_the_header() {
    // 20000 px exceeds 16384 per side; 10000 × 10001 = 100,010,000 pixels
    // exceeds 10^8 with both sides allowed.
    let messages = problems_after(|root| {
        write(root, N1, &png_claiming(20_000, 20_000));
        write(
            root,
            "obj/Data/Images/Anomaly/0.JPG",
            &jpeg_claiming(10_000, 10_001),
        );
    });
    assert_eq!(
        messages,
        [
            "`obj/Data/Images/Normal/1.JPG` (split_csv/1cls.csv line 3): the header says 20000x20000 pixels, beyond the limit of 16384 px per side and 100000000 pixels in all; refused before decoding (a corrupt file or a decompression bomb)",
            "`obj/Data/Images/Anomaly/0.JPG` (split_csv/1cls.csv line 4): the header says 10000x10001 pixels, beyond the limit of 16384 px per side and 100000000 pixels in all; refused before decoding (a corrupt file or a decompression bomb)",
        ]
    );
    // The rewritten header reads back as written, so what refused the
    // bombs above was the limit, not a broken header.
    let (_, width, height) =
        spotdiff::data::read_dimensions(&png_claiming(300, 200), &SizeLimit::default()).unwrap();
    assert_eq!((width, height), (300, 200));
}

#[test]
fn broken_everything_at_once_is_all_reported() {
    let messages = problems_after(|root| {
        std::fs::remove_file(root.join(N1)).unwrap();
        write(root, MASK, &mask(8, 6, 3, 2, 4));
        let csv = format!(
            "{}obj,train,normal,x.JPG,\n",
            SMALL_CSV.replace("obj,train,normal", "obj,train,norm")
        );
        write(root, "split_csv/1cls.csv", csv.as_bytes());
    });
    // CSV problems first (1cls line 2 and the missing x.JPG comes later, as
    // a file problem), then file problems in listing order.
    assert_eq!(
        messages,
        [
            "split_csv/1cls.csv line 2: label `norm` is not one of `normal`, `anomaly`",
            "`obj/Data/Images/Normal/1.JPG` (split_csv/1cls.csv line 3): no such file",
            "`obj/Data/Masks/Anomaly/0.png` (split_csv/1cls.csv line 4): the mask is 8x6 but its image `obj/Data/Images/Anomaly/0.JPG` is 16x12",
            "`x.JPG` (split_csv/1cls.csv line 5): no such file",
        ]
    );
    // Reading refuses the set with the checker's words.
    let dir = tempfile::tempdir().unwrap();
    small_visa(dir.path());
    write(dir.path(), "split_csv/1cls.csv", b"object,split\n");
    let error = read_visa(&DirSource::new(dir.path()), VisaSplit::OneClass).unwrap_err();
    assert!(matches!(&error, DataError::Invalid(p) if p.len() == 3));
    assert!(error.to_string().starts_with(
        "the data set has 3 problems; run `spotdiff data check` on it and fix them:\n  split_csv/1cls.csv line 1: the header has no `label` column"
    ));
}

#[test]
fn broken_prefixes_of_valid_files_never_panic() {
    // Every truncation of a valid JPEG and PNG either decodes or fails with
    // an error; the complete files decode.
    let limit = SizeLimit::default();
    for bytes in [jpeg(W, H, 33), mask(W, H, 3, 2, 4)] {
        for end in 0..bytes.len() {
            let _ = verify(&bytes[..end], &limit);
        }
        assert!(verify(&bytes, &limit).is_ok());
    }
    // Every single-byte corruption, too (each byte set to 0x00 and 0xFF).
    for bytes in [jpeg(W, H, 33), mask(W, H, 3, 2, 4)] {
        for at in 0..bytes.len() {
            for value in [0x00, 0xFF] {
                let mut broken = bytes.clone();
                broken[at] = value;
                let _ = verify(&broken, &limit);
                let _ = spotdiff::data::decode_mask(&broken, &limit);
            }
        }
    }
    // A JPEG cut anywhere after its header is reported as truncated.
    let bytes = jpeg(W, H, 33);
    assert_eq!(
        verify(&bytes[..bytes.len() - 2], &limit),
        Err(DecodeError::TruncatedJpeg)
    );
}

mod synth {
    use std::collections::BTreeMap;
    use std::path::Path;

    use spotdiff::data::synth::{contact_sheet, SynthClass, SynthConfig};
    use spotdiff::data::{
        check_mvtec, check_visa, read_mvtec, read_visa, DirSource, Label, Layout, SizeLimit, Split,
        VisaSplit,
    };

    fn config(seed: u64, layout: Layout) -> SynthConfig {
        SynthConfig {
            seed,
            size: 64,
            normals: 10,
            anomalies: 6,
            classes: vec![SynthClass::PcbGreen, SynthClass::Cashew],
            layout,
            jpeg_quality: 90,
        }
    }

    fn generate(root: &Path, config: SynthConfig) {
        config
            .check()
            .unwrap()
            .generate(&mut DirSource::new(root))
            .unwrap();
    }

    /// FNV-1a, 64 bit: a hash written here, independent of the generator.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Every file under `root` by relative path, with its hash.
    fn hashes(root: &Path) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let mut folders = vec![root.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let name = path.strip_prefix(root).unwrap().display().to_string();
                    out.insert(name, fnv(&std::fs::read(&path).unwrap()));
                }
            }
        }
        out
    }

    #[test]
    fn synth_is_deterministic_by_seed() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        generate(a.path(), config(7, Layout::Visa));
        generate(b.path(), config(7, Layout::Visa));
        generate(c.path(), config(8, Layout::Visa));
        let (a, b, c) = (hashes(a.path()), hashes(b.path()), hashes(c.path()));
        // 2 classes × (10 + 6) images, 12 masks, 3 CSVs.
        assert_eq!(a.len(), 32 + 12 + 3);
        assert_eq!(a, b);
        assert_eq!(a.keys().collect::<Vec<_>>(), c.keys().collect::<Vec<_>>());
        // The split CSVs depend only on the counts; every image differs.
        for (path, hash) in &a {
            if path.ends_with(".csv") {
                assert_eq!(c[path], *hash, "{path}");
            } else if path.ends_with(".JPG") {
                assert_ne!(c[path], *hash, "{path}");
            }
        }
    }

    #[test]
    fn synth_visa_splits_follow_the_csv_rules() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), config(1, Layout::Visa));
        let source = DirSource::new(dir.path());
        assert_eq!(
            check_visa(&source, VisaSplit::OneClass, &SizeLimit::default()).problems,
            []
        );
        // 10 normals, 6 anomalies per class:
        // 1cls: round(9) = 9 normals train, 1 test, 6 anomalies test;
        // highshot: round(6) = 6 normals and round(3.6) = 4 anomalies train;
        // fewshot: min(20, 6 / 2) = 3 anomalies train; 5-shot keeps those 3.
        let expected = [
            (VisaSplit::OneClass, [9, 0, 1, 6]),
            (VisaSplit::HighShot, [6, 4, 4, 2]),
            (VisaSplit::FewShot, [6, 3, 4, 3]),
            (VisaSplit::FiveShot, [6, 3, 4, 3]),
        ];
        for (split, counts) in expected {
            let dataset = read_visa(&source, split).unwrap();
            for object in ["pcb_green", "cashew"] {
                let got = [
                    dataset.count(object, Split::Train, Label::Normal),
                    dataset.count(object, Split::Train, Label::Anomaly),
                    dataset.count(object, Split::Test, Label::Normal),
                    dataset.count(object, Split::Test, Label::Anomaly),
                ];
                assert_eq!(got, counts, "{split} {object}");
            }
        }
    }

    #[test]
    fn synth_mvtec_layout_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), config(1, Layout::Mvtec));
        let source = DirSource::new(dir.path());
        assert_eq!(check_mvtec(&source, &SizeLimit::default()).problems, []);
        let dataset = read_mvtec(&source).unwrap();
        for object in ["cashew", "pcb_green"] {
            assert_eq!(dataset.count(object, Split::Train, Label::Normal), 9);
            assert_eq!(dataset.count(object, Split::Test, Label::Normal), 1);
            assert_eq!(dataset.count(object, Split::Test, Label::Anomaly), 6);
        }
    }

    #[test]
    fn contact_sheet_has_the_grid_size() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), config(1, Layout::Visa));
        let source = DirSource::new(dir.path());
        let dataset = read_visa(&source, VisaSplit::OneClass).unwrap();
        let png =
            contact_sheet(&source, &dataset, "cashew", 4, 3, 50, &SizeLimit::default()).unwrap();
        // 4 + 4 × (50 + 4) = 220 wide, 4 + 3 × 54 = 166 high.
        let (_, width, height) =
            spotdiff::data::read_dimensions(&png, &SizeLimit::default()).unwrap();
        assert_eq!((width, height), (220, 166));
    }
}
