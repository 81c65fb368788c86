//! The upload-job benchmark: `make bench`, which runs it inside tests/testbed/run.sh.
//!
//! Uploads the same file (1 GiB of non-zero data by default, BENCH_UPLOAD_MIB to change it)
//! into the test bed's directory pool over its TCP+SASL libvirtd, in turns A B B A: Hangar's
//! upload job (its own connection and login, 1 MiB stream chunks) and `virsh vol-upload`
//! (logging in from a libvirt auth file written for the run, mode 0600, removed after).
//! Each time covers connecting and logging in through the last byte; the job's also covers
//! creating the volume, which virsh's does not (`vol-create-as` runs before its clock starts).
//! Prints a markdown table and writes it to target/bench/upload_job.md.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hangar::backend::jobs::upload::{upload_work, UploadSpec};
use hangar::backend::jobs::{self, JobUpdate};

const MIB: u64 = 1024 * 1024;

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("upload_job: a benchmark; run it with `make bench`");
        return;
    }
    let Some(login) = common::sasl_login() else {
        eprintln!(
            "upload_job: needs the test bed's libvirtd; run `make bench`, or \
             tests/testbed/run.sh cargo bench --profile dev --bench upload_job"
        );
        std::process::exit(2);
    };
    let mib = std::env::var("BENCH_UPLOAD_MIB")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1024u64);
    let pool = common::testbed_var("HANGAR_TEST_POOL").expect("pool");
    let dir = PathBuf::from(common::testbed_var("TESTBED_DIR").expect("TESTBED_DIR"));
    let file = dir.join("bench-upload.img");
    write_data(&file, mib * MIB);
    let auth = write_auth_file(&dir, &login);

    let mut rows = Vec::new();
    for (round, who) in ["job", "virsh", "virsh", "job"].iter().enumerate() {
        let volume = format!("bench-upload-{round}.img");
        delete_volume(&pool, &volume);
        let took = match *who {
            "job" => upload_as_job(&login, &file, &pool, &volume),
            _ => upload_with_virsh(&login, &auth, &file, &pool, &volume, mib * MIB),
        };
        delete_volume(&pool, &volume);
        let rate = (mib * MIB) as f64 / 1e6 / took.as_secs_f64();
        eprintln!("{who}: {took:?}, {rate:.1} MB/s");
        rows.push((*who, took, rate));
    }
    let _ = std::fs::remove_file(&auth);
    let _ = std::fs::remove_file(&file);

    let mut table = format!(
        "Upload of {mib} MiB over qemu+tcp:// with SASL, same file, turns A B B A\n\n\
         | uploader | run | seconds | MB/s |\n|---|---:|---:|---:|\n"
    );
    for who in ["job", "virsh"] {
        let label = match who {
            "job" => "Hangar upload job",
            _ => "virsh vol-upload",
        };
        for (run, (_, took, rate)) in rows.iter().filter(|row| row.0 == who).enumerate() {
            let _ = writeln!(
                table,
                "| {label} | {} | {:.2} | {rate:.1} |",
                run + 1,
                took.as_secs_f64()
            );
        }
    }
    println!("{table}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    std::fs::write(out.join("upload_job.md"), table).expect("write the table");
}

/// `bytes` of data that no layer can skip or compress away cheaply (xorshift, not zeros).
fn write_data(path: &Path, bytes: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; MIB as usize];
    for _ in 0..bytes / MIB {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&chunk).expect("write");
    }
    file.flush().expect("flush");
}

/// A libvirt auth file for virsh (the password never goes on a command line).
fn write_auth_file(dir: &Path, login: &common::SaslLogin) -> PathBuf {
    let path = dir.join("bench-auth.conf");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .expect("auth file");
    let host = login
        .uri
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("127.0.0.1");
    write!(
        file,
        "[credentials-bench]\nauthname={}\npassword={}\n\n[auth-libvirt-{host}]\ncredentials=bench\n",
        login.user, login.password
    )
    .expect("write auth file");
    path
}

fn upload_as_job(login: &common::SaslLogin, file: &Path, pool: &str, volume: &str) -> Duration {
    let mut settings = common::login_settings(login);
    settings.typed_password =
        hangar::backend::password::Password::from_text(&login.password).into();
    let spec = UploadSpec {
        local: file.to_owned(),
        pool: pool.to_owned(),
        volume: volume.to_owned(),
        iso: false,
    };
    let started = Instant::now();
    let job = jobs::start(volume, &login.uri, settings, upload_work(spec));
    let updates = job.updates();
    loop {
        match updates.recv_blocking() {
            Ok(JobUpdate::Finished(_)) => return started.elapsed(),
            Ok(JobUpdate::Failed(reason)) => panic!("the job failed: {reason}"),
            Ok(JobUpdate::Cancelled) | Err(_) => panic!("the job ended early"),
            Ok(_) => {}
        }
    }
}

fn upload_with_virsh(
    login: &common::SaslLogin,
    auth: &Path,
    file: &Path,
    pool: &str,
    volume: &str,
    bytes: u64,
) -> Duration {
    common::admin_virsh(&[
        "vol-create-as",
        pool,
        volume,
        &bytes.to_string(),
        "--format",
        "raw",
    ]);
    let started = Instant::now();
    let output = Command::new("virsh")
        .env("LIBVIRT_AUTH_FILE", auth)
        .args(["-q", "-c", &login.uri, "vol-upload", "--pool", pool, volume])
        .arg(file)
        .output()
        .expect("run virsh");
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "virsh vol-upload failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    took
}

fn delete_volume(pool: &str, volume: &str) {
    let uri = common::testbed_var("HANGAR_TEST_UNIX_URI").expect("admin URI");
    let _ = Command::new("virsh")
        .args(["-q", "-c", &uri, "vol-delete", "--pool", pool, volume])
        .output();
}
