//! Uploading a local file into a storage pool, as a job: the volume is created, the file
//! streamed into it in 1 MiB chunks, and on cancel or failure the partial volume deleted.

use std::path::PathBuf;

use super::{JobContext, JobWork};
use crate::backend::create;

/// What to upload where.
#[derive(Debug, Clone)]
pub struct UploadSpec {
    pub local: PathBuf,
    pub pool: String,
    pub volume: String,
    /// Check that the file is an ISO 9660 image first (the wizard's installer upload).
    pub iso: bool,
}

/// The job's work; it finishes with the volume's path on the host.
pub fn upload_work(spec: UploadSpec) -> JobWork {
    Box::new(move |context: &JobContext<'_>| {
        let report = |done, total| context.report(done, total);
        let upload = if spec.iso {
            create::upload_iso
        } else {
            create::upload_volume
        };
        upload(
            context.session(),
            &spec.local,
            &spec.pool,
            &spec.volume,
            &report,
            context.cancel_flag(),
        )
    })
}
