//! Helpers shared by the CLI tests.

use ferry_archive::{Destination, Header, Writer};
use ferry_model::ObjectId;

/// Writes a directory archive holding `objects` at `dest`.
pub fn archive(dest: &Destination, objects: &[(ObjectId, &str, serde_json::Value)]) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut writer = Writer::create(dest, Header::default(), None).await.unwrap();
        for (id, resource, object) in objects {
            writer.add(id, resource, object).await.unwrap();
        }
        writer.finish().await.unwrap();
    });
}
