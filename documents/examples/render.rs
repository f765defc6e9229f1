//! Renders sample copies for looking at: `cargo run -p zizhi-documents --example render -- OUT_DIR [N]`
//! writes a usage copy and an approval copy with N qualification lines (default 3), signed
//! with a throw-away PKI, and their PNG previews.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use zizhi_documents::pki::{Role, Signer, Subject};
use zizhi_documents::{CopyContent, Fonts, make_pdf, preview};
use zizhi_shared::{Category, Certificate, CopyKind, Enterprise, Qualification, UsageTerms};

const ITEMS: &[(&str, &str)] = &[
    ("建筑工程施工总承包", "二级"),
    ("市政公用工程施工总承包", "三级"),
    ("地基基础工程专业承包", "二级"),
    ("建筑装修装饰工程专业承包", "一级"),
    ("钢结构工程专业承包", "二级"),
    ("环保工程专业承包", "三级"),
    ("建筑机电安装工程专业承包", "二级"),
    ("消防设施工程专业承包", "二级"),
    ("防水防腐保温工程专业承包", "一级"),
    ("建筑幕墙工程专业承包", "二级"),
    ("古建筑工程专业承包", "三级"),
    ("城市及道路照明工程专业承包", "三级"),
    ("公路工程施工总承包", "三级"),
    ("水利水电工程施工总承包", "三级"),
    ("电力工程施工总承包", "三级"),
    ("机电工程施工总承包", "二级"),
    ("桥梁工程专业承包", "二级"),
    ("隧道工程专业承包", "三级"),
    ("起重设备安装工程专业承包", "二级"),
    ("模板脚手架专业承包", "不分等级"),
];

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let n: usize = std::env::args().nth(2).map_or(3, |s| s.parse().unwrap());
    std::fs::create_dir_all(&out).unwrap();
    let fonts = Fonts::load(None).unwrap();
    let now = Utc::now();
    let subject = |n| Subject { common_name: n, organization: n, credit_code: None };
    let root = Signer::new_root(&subject("演示根证书"), now - Duration::days(1), now + Duration::days(3650)).unwrap();
    let issuer = root.issue(&subject("上海市住房和城乡建设管理委员会"), Role::DocumentSigner, now - Duration::days(1), now + Duration::days(900)).unwrap();
    let ent = root.issue(&subject("上海浦江建设集团有限公司"), Role::DocumentSigner, now - Duration::days(1), now + Duration::days(900)).unwrap();
    let cert = Certificate {
        number: "D231000037".parse().unwrap(),
        version: 2,
        category: Category::Construction,
        enterprise: Enterprise {
            name: "上海浦江建设集团有限公司".into(),
            credit_code: "91310000132149237G".parse().unwrap(),
            address: "上海市浦东新区张杨路1588号15楼".into(),
            legal_representative: "陈建华".into(),
            registered_capital_wan: "10000".into(),
            economic_nature: "有限责任公司（自然人投资或控股）".into(),
        },
        approved_on: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        valid_until: NaiveDate::from_ymd_opt(2030, 5, 31).unwrap(),
        issuer: "上海市住房和城乡建设管理委员会".into(),
        qualifications: ITEMS.iter().cycle().take(n).map(|(i, g)| Qualification { category: Category::Construction, item: (*i).into(), grade: (*g).into() }).collect(),
    };
    let terms = UsageTerms::new("闵行区某学校新建工程项目投标", NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()).unwrap();
    let qr = "HTTPS://ZIZHI.JSGL.SH.GOV.CN/V/".to_owned() + &"AEBAGBAFAYDQQCIKBMGA2DQPCAIREEYUCULBOGA3DQPCAIREEYUCULBOGA3DQPCAIREEYUCULBOGA3DQPCAIREEYUCULBOGA3DQPCAIREEYUCULBOGA3DQPCAIREEYUCULBOGA3DQPCAIREEYUCULBOGA3DQ".repeat(2)[..250];
    for (kind, usage) in [(CopyKind::Usage, Some(&terms)), (CopyKind::Approval, None)] {
        let content = CopyContent { certificate: &cert, kind, usage, copy_id: 123, qr_text: &qr, generated_at: Utc.with_ymd_and_hms(2026, 11, 25, 5, 2, 0).unwrap() };
        let t = std::time::Instant::now();
        let pdf = make_pdf(&content, &fonts, &issuer, (kind == CopyKind::Usage).then_some(&ent)).unwrap();
        let took = t.elapsed();
        let png = preview::png(&pdf, preview::PREVIEW_DPI).unwrap();
        let stem = format!("{}-{n}", kind.code());
        std::fs::write(out.join(format!("{stem}.pdf")), &pdf).unwrap();
        std::fs::write(out.join(format!("{stem}.png")), &png).unwrap();
        println!("{stem}: {} bytes, {took:?}", pdf.len());
    }
    std::fs::write(out.join("root.pem"), root.certificate_pem().unwrap()).unwrap();
}
