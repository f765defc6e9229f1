use chrono::{Duration, Utc};
use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use zizhi_documents::pades::{SignatureRole, SignatureSpec, sign};
use zizhi_documents::pki::{Role, Signer, Subject};

fn main() {
    let data = std::fs::read("/work/main/assets/fonts/NotoSerifSC-Regular-GB2312.otf").unwrap();
    let font = Font::new(data.into(), 0).unwrap();
    let mut doc = krilla::Document::new();
    let mut page = doc.start_page_with(PageSettings::from_wh(595.0, 842.0).unwrap());
    let mut s = page.surface();
    s.draw_text(
        Point::from_xy(100.0, 100.0),
        font.clone(),
        20.0,
        "建筑业企业资质证书 上海某建设有限公司",
        false,
        TextDirection::Auto,
    );
    s.finish();
    page.finish();
    let pdf = doc.finish().unwrap();
    let now = Utc::now();
    let root = Signer::new_root(
        &Subject {
            common_name: "zizhi 演示根证书",
            organization: "zizhi 演示",
            credit_code: None,
        },
        now - Duration::days(1),
        now + Duration::days(3650),
    )
    .unwrap();
    let issuer = root
        .issue(
            &Subject {
                common_name: "上海市住房和城乡建设管理委员会",
                organization: "上海市住房和城乡建设管理委员会",
                credit_code: None,
            },
            Role::DocumentSigner,
            now - Duration::days(1),
            now + Duration::days(1000),
        )
        .unwrap();
    let ent = root
        .issue(
            &Subject {
                common_name: "上海某建设有限公司",
                organization: "上海某建设有限公司",
                credit_code: Some("91310000132149237G"),
            },
            Role::DocumentSigner,
            now - Duration::days(1),
            now + Duration::days(1000),
        )
        .unwrap();
    std::fs::write("/tmp/sig/unsigned.pdf", &pdf).unwrap();
    let one = sign(
        &pdf,
        &SignatureSpec {
            field: "IssuerSignature",
            label: "发证机关电子签名",
            signer: &issuer,
            reason: "发证机关签发电子资质证书",
            location: "上海",
            time: now,
            role: SignatureRole::Certify {
                later_fields: &["EnterpriseSignature"],
            },
        },
    )
    .unwrap();
    std::fs::write("/tmp/sig/one.pdf", &one).unwrap();
    let two = sign(
        &one,
        &SignatureSpec {
            field: "EnterpriseSignature",
            label: "企业电子签名",
            signer: &ent,
            reason: "企业生成使用件",
            location: "上海",
            time: now,
            role: SignatureRole::Approve,
        },
    )
    .unwrap();
    std::fs::write("/tmp/sig/two.pdf", &two).unwrap();
    std::fs::write("/tmp/sig/root.pem", root.certificate_pem().unwrap()).unwrap();
}
