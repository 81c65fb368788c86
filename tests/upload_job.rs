//! Uploads as jobs on the test bed's real libvirtd (QEMU over TCP+SASL): a 1 GiB upload runs
//! on its own thread and connection while the same host's worker still answers actions and
//! events within a second; cancelling it removes the partial volume; a finished upload leaves
//! the whole volume; a job whose login would need a question fails with a sentence.

mod common;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hangar::backend::jobs::upload::{upload_work, UploadSpec};
use hangar::backend::jobs::{self, JobHandle, JobUpdate};
use hangar::backend::worker::{HostCommand, HostUpdate, Job};

const GIB: u64 = 1024 * 1024 * 1024;
/// What "still answers" means, for a person watching the list.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// A sparse file of `size` bytes, removed when dropped.
struct SparseFile(PathBuf);

impl SparseFile {
    fn new(name: &str, size: u64) -> Self {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let file = std::fs::File::create(&path).expect("create the file");
        file.set_len(size).expect("make it sparse");
        Self(path)
    }
}

impl Drop for SparseFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pool() -> String {
    common::testbed_var("HANGAR_TEST_POOL").expect("pool")
}

fn volumes() -> String {
    common::admin_virsh(&["pool-refresh", &pool()]);
    common::admin_virsh(&["vol-list", &pool()])
}

fn remove_volume(name: &str) {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
    let _ = std::process::Command::new("virsh")
        .args(["-q", "-c", &uri, "vol-delete", "--pool", &pool(), name])
        .output();
}

fn start_upload(login: &common::SaslLogin, file: &SparseFile, volume: &str) -> JobHandle {
    let mut settings = common::login_settings(login);
    settings.typed_password =
        hangar::backend::password::Password::from_text(&login.password).into();
    let spec = UploadSpec {
        local: file.0.clone(),
        pool: pool(),
        volume: volume.to_owned(),
        iso: false,
    };
    jobs::start(volume, &login.uri, settings, upload_work(spec))
}

/// The job's next update that `pick` takes, within `timeout`.
fn next_job_update<T>(
    job: &JobHandle,
    timeout: Duration,
    mut pick: impl FnMut(JobUpdate) -> Option<T>,
) -> T {
    let updates = job.updates();
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match updates.try_recv() {
            Ok(update) => {
                seen.push(format!("{update:?}"));
                if let Some(found) = pick(update) {
                    return found;
                }
            }
            Err(async_channel::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(async_channel::TryRecvError::Closed) => panic!("the job ended; saw {seen:?}"),
        }
    }
    panic!("nothing matched within {timeout:?}; saw {seen:?}");
}

/// How long the worker takes to run a small job on its own connection.
fn time_worker_call(worker: &hangar::backend::worker::HostWorker) -> Duration {
    let (reply, answer) = mpsc::channel();
    let asked = Instant::now();
    worker.send(HostCommand::Run(Job(Box::new(move |session| {
        let _ = reply.send(session.domains().map(|list| list.len()));
    }))));
    let listed = answer
        .recv_timeout(Duration::from_secs(30))
        .expect("the worker answered")
        .expect("the list");
    assert!(listed > 0, "the test bed's guest is listed");
    asked.elapsed()
}

#[test]
fn host_answers_while_a_1_gib_upload_runs_and_cancel_removes_the_volume() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let guest = common::testbed_var("HANGAR_TEST_GUEST").expect("guest");
    let (worker, updates) = common::connected_worker(&login, common::quick_options());
    let file = SparseFile::new("hangar-upload-job", GIB);
    let volume = "hangar-upload-job-cancel.img";
    remove_volume(volume);
    let job = start_upload(&login, &file, volume);
    next_job_update(&job, Duration::from_secs(30), |update| match update {
        JobUpdate::Progress(progress) if progress.done > 0 => Some(()),
        JobUpdate::Failed(reason) => panic!("the upload failed: {reason}"),
        _ => None,
    });
    assert!(
        volumes().contains(volume),
        "the volume exists while uploading"
    );

    // An action (a call on the worker's connection) and an outside event, both answered
    // within a second while the upload streams.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        slowest = slowest.max(time_worker_call(&worker));
        std::thread::sleep(Duration::from_millis(100));
    }
    while updates.try_recv().is_ok() {}
    let title = format!("upload-job-{}", std::process::id());
    // Timed from before virsh starts: an upper bound that includes virsh's own run.
    let told = Instant::now();
    common::admin_virsh(&["desc", &guest, "--live", "--title", &title]);
    common::next_update(&updates, Duration::from_secs(10), |update| match update {
        HostUpdate::DomainChanged(summary) if summary.name == guest => Some(()),
        _ => None,
    });
    let event_seen = told.elapsed();
    println!("worker calls: slowest {slowest:?}; event seen after {event_seen:?}");
    assert!(slowest < ANSWER_WITHIN, "a worker call took {slowest:?}");
    assert!(event_seen < ANSWER_WITHIN, "the event took {event_seen:?}");

    // Still uploading: the measurements above ran beside it, not after it.
    let progress = next_job_update(&job, Duration::from_secs(10), |update| match update {
        JobUpdate::Progress(progress) => Some(progress),
        other => panic!("the upload ended before the checks did: {other:?}"),
    });
    assert!(progress.done < progress.total, "{progress:?}");
    assert!(progress.bytes_per_sec.is_some_and(|rate| rate > 0.0));
    assert!(progress.time_left.is_some());

    job.cancel();
    next_job_update(&job, Duration::from_secs(30), |update| match update {
        JobUpdate::Cancelled => Some(()),
        JobUpdate::Finished(_) | JobUpdate::Failed(_) => panic!("expected Cancelled: {update:?}"),
        _ => None,
    });
    let left = volumes();
    assert!(!left.contains(volume), "the partial volume is gone: {left}");
}

#[test]
fn a_finished_upload_leaves_the_whole_volume() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let file = SparseFile::new("hangar-upload-job-small", 64 * 1024 * 1024);
    let volume = "hangar-upload-job-done.img";
    remove_volume(volume);
    let job = start_upload(&login, &file, volume);
    let path = next_job_update(&job, Duration::from_secs(120), |update| match update {
        JobUpdate::Finished(path) => Some(path),
        JobUpdate::Failed(_) | JobUpdate::Cancelled => panic!("did not finish: {update:?}"),
        _ => None,
    });
    assert!(path.ends_with(volume), "{path}");
    let info = common::admin_virsh(&["vol-info", "--bytes", "--pool", &pool(), volume]);
    remove_volume(volume);
    assert!(info.contains("67108864 bytes"), "{info}");
}

#[test]
fn a_job_that_would_have_to_ask_for_a_password_fails_with_a_sentence() {
    let Some(login) = common::sasl_login() else {
        return;
    };
    let file = SparseFile::new("hangar-upload-job-nopass", 1024 * 1024);
    let spec = UploadSpec {
        local: file.0.clone(),
        pool: pool(),
        volume: "hangar-upload-job-nopass.img".into(),
        iso: false,
    };
    // The user name only: the password would have to be asked.
    let job = jobs::start(
        "nopass",
        &login.uri,
        common::login_settings(&login),
        upload_work(spec),
    );
    let reason = next_job_update(&job, Duration::from_secs(30), |update| match update {
        JobUpdate::Failed(reason) => Some(reason),
        JobUpdate::Started | JobUpdate::Finished(_) => panic!("it connected: {update:?}"),
        _ => None,
    });
    assert!(reason.contains("keyring"), "{reason}");
    assert!(!volumes().contains("hangar-upload-job-nopass.img"));
}
