//! `ferry-testcluster [--controllers]`: starts one test control plane for
//! manual work and benchmarks, prints its kubeconfig path, and stops it when
//! standard input closes (Ctrl-D) or the process is interrupted.

use std::io::Read as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let controllers = std::env::args().any(|a| a == "--controllers");
    let cluster = ferry_testcluster::TestCluster::start(ferry_testcluster::Options { controllers, ..Default::default() }).await?;
    println!("{}", cluster.kubeconfig().display());
    eprintln!("cluster running at {}; close stdin (Ctrl-D) to stop it", cluster.server());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}
