mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explore() {
    let file = std::env::var("F").unwrap();
    let args: Vec<(String, serde_json::Value)> = std::env::var("A")
        .ok()
        .filter(|a| !a.is_empty())
        .map(|a| {
            let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&a).unwrap();
            v.into_iter().collect()
        })
        .unwrap_or_default();
    let args: Vec<(&str, serde_json::Value)> =
        args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let h = Harness::new();
    let t0 = std::time::Instant::now();
    let (run, tasks) = h.run(&file, &args).await;
    println!(
        "=== {file} {:?} -> {} in {:?} error={:?}\n outputs={}",
        args,
        run.state,
        t0.elapsed(),
        run.error,
        run.outputs
    );
    for t in &tasks {
        println!(
            "  {:<50} {:?} {} att={} cached={} err={:?} {:?}..{:?}\n      out={}",
            t.path,
            t.kind,
            t.state,
            t.attempts,
            t.cached,
            t.error,
            t.started_at.map(|x| x.format("%S%.3f").to_string()),
            t.finished_at.map(|x| x.format("%S%.3f").to_string()),
            t.outputs
        );
        if std::env::var("LOG").is_ok() {
            if let Some(l) = &t.log_path {
                println!("LOG:{}", std::fs::read_to_string(l).unwrap_or_default());
            }
            println!("INPUTS: {}", t.inputs);
            println!(
                "ID {} run {} name {} created {:?} root {}",
                t.task_id, run.run_id, run.name, run.created_at, run.pipeline_root
            );
        }
    }
}
