use std::time::Instant;
fn main() {
    let text = std::fs::read_to_string("/tmp/big.yaml").unwrap();
    let t = Instant::now();
    let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    println!("serde_yaml parse {:?}", t.elapsed());
    let t = Instant::now();
    let mut diags = stackctl::compose::diag::Diagnostics::default();
    let f =
        stackctl::compose::parse::parse_text(std::path::Path::new("x"), &text, &mut diags).unwrap();
    println!(
        "parse_text total {:?} map {}",
        t.elapsed(),
        f.source_map.len()
    );
    let t = Instant::now();
    let mut p = yaml_rust2::parser::Parser::new_from_str(&text);
    let mut n = 0;
    while let Ok((e, _)) = p.next_token() {
        n += 1;
        if matches!(e, yaml_rust2::Event::StreamEnd) {
            break;
        }
    }
    println!("yaml-rust2 events {:?} {}", t.elapsed(), n);
    let t = Instant::now();
    let s = serde_yaml::to_string(&v).unwrap();
    println!("to_string {:?} {}", t.elapsed(), s.len());
    drop(v);
}
