//! `ferry-testcluster [--controllers] [--nodes 1]`: starts one test cluster for manual work and
//! benchmarks (with `--nodes 1`, a real node on which Pods run), prints its kubeconfig path, and
//! stops it when standard input closes (Ctrl-D) or the process is interrupted.

use std::io::Read as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let controllers = args.iter().any(|a| a == "--controllers");
    let nodes = match args.iter().position(|a| a == "--nodes") {
        Some(i) => args.get(i + 1).ok_or("--nodes needs a number (0 or 1)")?.parse()?,
        None => 0,
    };
    let cluster = ferry_testcluster::TestCluster::start(ferry_testcluster::Options { controllers, nodes, ..Default::default() }).await?;
    println!("{}", cluster.kubeconfig().display());
    eprintln!("cluster running at {}; close stdin (Ctrl-D) to stop it", cluster.server());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}
