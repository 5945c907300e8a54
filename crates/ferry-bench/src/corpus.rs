//! Synthetic corpora shaped like real applications: each application is a
//! Deployment, a Service, a ConfigMap and a Secret; workloads call two other
//! applications by DNS name (in env and in ConfigMap data), some use Azure
//! services, and one in twenty uses a removed API version.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// Objects per application.
const PER_APP: usize = 4;
/// Applications per file.
const APPS_PER_FILE: usize = 250;

/// Writes `objects` objects under `dir` (reusing an existing corpus of the same size); returns its size in bytes.
pub fn generate(dir: &Path, objects: usize) -> u64 {
    let marker = dir.join(".complete");
    if !marker.exists() {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).expect("create corpus dir");
        let apps = objects.div_ceil(PER_APP);
        for (file_no, first) in (0..apps).step_by(APPS_PER_FILE).enumerate() {
            let mut text = String::new();
            for app in first..(first + APPS_PER_FILE).min(apps) {
                application(&mut text, app, apps);
            }
            fs::write(dir.join(format!("apps-{file_no:04}.yaml")), text).expect("write corpus");
        }
        fs::write(&marker, "").expect("marker");
    }
    fs::read_dir(dir).expect("corpus").map(|e| e.expect("entry").metadata().expect("meta").len()).sum()
}

fn application(out: &mut String, app: usize, apps: usize) {
    let ns = format!("team-{}", app % 50);
    let name = format!("svc-{app}");
    let callee = format!("svc-{}", (app * 7 + 3) % apps);
    let callee_ns = format!("team-{}", ((app * 7 + 3) % apps) % 50);
    let other = format!("svc-{}", (app + 1) % apps);
    let other_ns = format!("team-{}", ((app + 1) % apps) % 50);
    let api = if app.is_multiple_of(20) { "extensions/v1beta1" } else { "apps/v1" };
    let cloud = if app.is_multiple_of(10) { format!("https://acct{app}.blob.core.windows.net/data") } else { "s3://local-bucket/data".into() };
    let image = if app.is_multiple_of(3) { format!("shop{}.azurecr.io/{name}:1.0.{app}", app % 7) } else { format!("ghcr.io/example/{name}:1.0.{app}") };
    let _ = write!(
        out,
        "---
apiVersion: {api}
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      serviceAccountName: default
      containers:
        - name: app
          image: {image}
          ports:
            - containerPort: 8080
          env:
            - name: CALLEE_URL
              value: http://{callee}.{callee_ns}.svc.cluster.local:8080/api
            - name: STORAGE_URL
              value: {cloud}
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {name}-db
                  key: password
          envFrom:
            - configMapRef:
                name: {name}-config
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - port: 8080
      targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
data:
  NEIGHBOUR_ADDR: {other}.{other_ns}:8080
  LOG_LEVEL: info
  FEATURE_FLAGS: \"a,b,c\"
---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-db
  namespace: {ns}
type: Opaque
data:
  password: c2VjcmV0LXtuYW1lfQ==
"
    );
}
