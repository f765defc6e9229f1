//! A sample certificate with any number of qualification lines, and a throw-away PKI, for the
//! example, the bench and the unit tests.

use chrono::{Duration, NaiveDate, Utc};
use zizhi_shared::{Category, Certificate, Enterprise, Qualification, UsageTerms};

use crate::pki::{Role, Signer, Subject};

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

/// A construction certificate with `n` qualifications (at most 20 distinct ones, repeated).
pub fn certificate(n: usize) -> Certificate {
    Certificate {
        number: "D231000037".parse().expect("number"),
        version: 2,
        category: Category::Construction,
        enterprise: Enterprise {
            name: "上海浦江建设集团有限公司".into(),
            credit_code: "91310000132149237G".parse().expect("credit code"),
            address: "上海市浦东新区张杨路1588号15楼".into(),
            legal_representative: "陈建华".into(),
            registered_capital_wan: "10000".into(),
            economic_nature: "有限责任公司（自然人投资或控股）".into(),
        },
        approved_on: NaiveDate::from_ymd_opt(2025, 6, 1).expect("date"),
        valid_until: NaiveDate::from_ymd_opt(2030, 5, 31).expect("date"),
        issuer: "上海市住房和城乡建设管理委员会".into(),
        qualifications: ITEMS
            .iter()
            .cycle()
            .take(n)
            .map(|(i, g)| Qualification {
                category: Category::Construction,
                item: (*i).into(),
                grade: (*g).into(),
            })
            .collect(),
    }
}

pub fn usage_terms() -> UsageTerms {
    UsageTerms::new(
        "闵行区某学校新建工程项目投标",
        NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        NaiveDate::from_ymd_opt(2027, 1, 31).expect("date"),
    )
    .expect("terms")
}

/// A QR text of typical length (a V12 code).
pub fn qr_text() -> String {
    let b32 = "AGCETIQBE4CEIU2IGAY2AWEGVMARQSACNJCDEMZRGA4TQNJYGMBQCBABAVMBQTQKNV3XKM4IMFPPVC56LXSXUC3HBGLFAULMKP4AM4RZGEZTCMBRGEZDMMZSG4YTIOJXGZIAOWBINVTE4HDFWBJTUXZANRPXTUK3MZL44Z6QK4YFOV2PJ5NYLGDZO3XGLPK54VRJK2AHBAMVCKIJDFIY2CQ2AHEHSCALJCPIAUOZV2VU5N2YIDLB34EWO4GUVJBN7FYGGSS7MFJHR65";
    format!("HTTPS://ZIZHI.JSGL.SH.GOV.CN/V/{b32}")
}

/// Root, issuer and enterprise signers, valid from yesterday.
pub fn pki() -> (Signer, Signer, Signer) {
    let now = Utc::now();
    let subject = |n| Subject {
        common_name: n,
        organization: n,
        credit_code: None,
    };
    let (from, until) = (now - Duration::days(1), now + Duration::days(900));
    let root = Signer::new_root(&subject("演示根证书"), from, until).expect("root");
    let issuer = root
        .issue(
            &subject("上海市住房和城乡建设管理委员会"),
            Role::DocumentSigner,
            from,
            until,
        )
        .expect("issuer");
    let enterprise = root
        .issue(
            &Subject {
                common_name: "上海浦江建设集团有限公司",
                organization: "上海浦江建设集团有限公司",
                credit_code: Some("91310000132149237G"),
            },
            Role::DocumentSigner,
            from,
            until,
        )
        .expect("enterprise");
    (root, issuer, enterprise)
}

/// The names with characters outside GB 2312 the tests take through every step
/// (`assets/demo/rare-names.txt`): `(what it samples, name)`. The shipped fonts cover them.
pub fn rare_names() -> Vec<(&'static str, &'static str)> {
    include_str!("../../assets/demo/rare-names.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect()
}
