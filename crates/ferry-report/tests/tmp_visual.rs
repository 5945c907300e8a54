use std::path::PathBuf;
use std::time::Instant;
use ferry_analysis::{Options, assess_paths};
use ferry_report::{Format, render};

fn go(paths: &[PathBuf], out: &str) {
    let t = Instant::now();
    let a = assess_paths(paths, &Options::default()).unwrap();
    let t1 = t.elapsed();
    let mut html = Vec::new();
    let t = Instant::now();
    render(&a, Format::Html, &mut html).unwrap();
    eprintln!("{out}: assess {t1:?}, render {:?}, {} bytes, {} deps, {} apps", t.elapsed(), html.len(), a.dependencies.len(), a.waves.waves.iter().map(|w| w.applications.len()).sum::<usize>());
    std::fs::write(out, &html).unwrap();
}

#[test]
fn visual() {
    let corpora: Vec<PathBuf> = std::fs::read_dir("/work/shared/corpora").unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    go(&corpora, "/tmp/ferry-shot/corpora.html");
    go(&[PathBuf::from("/tmp/ferry-shot/big")], "/tmp/ferry-shot/big.html");
}
