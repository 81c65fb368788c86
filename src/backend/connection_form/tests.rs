//! Tests of the connection form: addresses, validation and round trips.
use super::*;

fn remote(transport: Transport, host: &str) -> ConnectionForm {
    ConnectionForm {
        transport,
        host: host.to_owned(),
        ..ConnectionForm::default()
    }
}

fn custom(uri: &str) -> ConnectionForm {
    ConnectionForm {
        transport: Transport::Custom,
        custom_uri: uri.to_owned(),
        ..ConnectionForm::default()
    }
}

fn error_fields(form: &ConnectionForm) -> Vec<Field> {
    form.errors().into_iter().map(|error| error.field).collect()
}

fn saved(uri: &str) -> SavedConnection {
    SavedConnection {
        id: "id-1".to_owned(),
        name: uri::display_name(uri),
        uri: uri.to_owned(),
        username: None,
        autoconnect: false,
        remember_password: false,
    }
}

#[test]
fn defaults_to_tcp_with_sasl_remembering_and_connecting() {
    let form = ConnectionForm::default();
    assert_eq!(form.hypervisor, Hypervisor::Qemu);
    assert_eq!(form.transport, Transport::TcpSasl);
    assert!(form.autoconnect);
    assert!(form.remember_password);
    assert_eq!(error_fields(&form), vec![Field::Host]);
}

#[test]
fn local_choices_need_no_fields() {
    let mut form = ConnectionForm {
        transport: Transport::LocalSystem,
        ..ConnectionForm::default()
    };
    assert_eq!(form.uri(), Ok("qemu:///system".to_owned()));
    form.transport = Transport::LocalSession;
    assert_eq!(form.uri(), Ok("qemu:///session".to_owned()));
    form.hypervisor = Hypervisor::Test;
    assert_eq!(form.uri(), Ok("test:///default".to_owned()));
    assert!(!form.uses_login());
    assert!(form.errors().is_empty());
}

#[test]
fn tcp_and_tls_leave_out_their_default_ports() {
    let mut form = remote(Transport::TcpSasl, "nas.local");
    assert_eq!(form.uri(), Ok("qemu+tcp://nas.local/system".to_owned()));
    form.port = "16509".to_owned();
    assert_eq!(form.uri(), Ok("qemu+tcp://nas.local/system".to_owned()));
    form.port = "16514".to_owned();
    assert_eq!(
        form.uri(),
        Ok("qemu+tcp://nas.local:16514/system".to_owned())
    );
    form.transport = Transport::Tls;
    assert_eq!(form.uri(), Ok("qemu+tls://nas.local/system".to_owned()));
    form.port = "16509".to_owned();
    assert_eq!(
        form.uri(),
        Ok("qemu+tls://nas.local:16509/system".to_owned())
    );
    form.hypervisor = Hypervisor::Test;
    form.port.clear();
    assert_eq!(form.uri(), Ok("test+tls://nas.local/default".to_owned()));
}

#[test]
fn ipv6_hosts_are_bracketed_whether_typed_with_brackets_or_not() {
    for host in ["fe80::1", "[fe80::1]", " fe80::1 "] {
        let mut form = remote(Transport::TcpSasl, host);
        form.port = "1234".to_owned();
        assert_eq!(
            form.uri(),
            Ok("qemu+tcp://[fe80::1]:1234/system".to_owned())
        );
    }
    for host in ["fe80::zz", "[::1", "::1]", "1:2:3"] {
        assert_eq!(
            error_fields(&remote(Transport::TcpSasl, host)),
            [Field::Host]
        );
    }
}

#[test]
fn ipv4_and_dns_names_are_checked() {
    for host in [
        "192.168.1.10",
        "nas",
        "kvm-1.example.org",
        "example.org.",
        "0a.b",
    ] {
        assert!(remote(Transport::TcpSasl, host).uri().is_ok(), "{host}");
    }
    let longest_label = "a".repeat(63);
    assert!(remote(Transport::TcpSasl, &longest_label).uri().is_ok());
    let longest_name = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ];
    assert!(remote(Transport::TcpSasl, &longest_name.join("."))
        .uri()
        .is_ok());
    let too_long = [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(62),
    ];
    let bad_hosts = [
        "999.1.1.1".to_owned(),
        "1.2.3".to_owned(),
        "a".repeat(64),
        too_long.join("."),
        "-nas".to_owned(),
        "nas-".to_owned(),
        "my_host".to_owned(),
        "a..b".to_owned(),
        "nas/x".to_owned(),
        "".to_owned(),
        "   ".to_owned(),
    ];
    for host in bad_hosts {
        let errors = remote(Transport::TcpSasl, &host).errors();
        assert_eq!(errors.len(), 1, "{host}");
        assert_eq!(errors[0].field, Field::Host);
    }
}

#[test]
fn host_errors_name_the_host() {
    let errors = remote(Transport::TcpSasl, "my_host").errors();
    assert!(errors[0].message.contains("“my_host”"));
    let errors = remote(Transport::TcpSasl, "300.1.1.1").errors();
    assert!(errors[0].message.contains("IPv4"));
}

#[test]
fn ports_must_be_1_to_65535() {
    let mut form = remote(Transport::TcpSasl, "h");
    for (port, valid) in [
        ("", true),
        ("1", true),
        ("65535", true),
        (" 2222 ", true),
        ("0", false),
        ("65536", false),
        ("abc", false),
        ("+22", false),
        ("-1", false),
        ("99999999999999999999", false),
    ] {
        form.port = port.to_owned();
        let fields = error_fields(&form);
        assert_eq!(fields.is_empty(), valid, "{port:?}");
        if !valid {
            assert_eq!(fields, [Field::Port]);
        }
    }
    form.port = "1".to_owned();
    assert_eq!(form.uri(), Ok("qemu+tcp://h:1/system".to_owned()));
    form.port = "65535".to_owned();
    assert_eq!(form.uri(), Ok("qemu+tcp://h:65535/system".to_owned()));
}

#[test]
fn user_names_may_hold_at_signs_escaped_for_libvirt() {
    let mut form = remote(Transport::TcpSasl, "h");
    form.username = "admin".to_owned();
    assert_eq!(form.uri(), Ok("qemu+tcp://admin@h/system".to_owned()));
    form.username = "me@example.org".to_owned();
    assert_eq!(
        form.uri(),
        Ok("qemu+tcp://me%40example.org@h/system".to_owned())
    );
    for bad in ["a b", "a/b", "tab\there"] {
        form.username = bad.to_owned();
        assert_eq!(error_fields(&form), [Field::Username], "{bad:?}");
    }
}

#[test]
fn ssh_never_prompts_and_escapes_the_key_file() {
    let mut form = remote(Transport::Ssh, "h");
    form.username = "root".to_owned();
    assert_eq!(
        form.uri(),
        Ok("qemu+ssh://root@h/system?no_tty=1".to_owned())
    );
    form.port = "22".to_owned();
    form.ssh_keyfile = "/home/me/my keys/id_ed25519+1".to_owned();
    assert_eq!(
        form.uri(),
        Ok(
            "qemu+ssh://root@h/system?no_tty=1&keyfile=/home/me/my%20keys/id_ed25519%2B1"
                .to_owned()
        )
    );
    form.port = "2222".to_owned();
    form.ssh_keyfile = "~/.ssh/id_rsa".to_owned();
    assert_eq!(
        form.uri(),
        Ok("qemu+ssh://root@h:2222/system?no_tty=1&keyfile=~/.ssh/id_rsa".to_owned())
    );
    form.ssh_keyfile = "id_rsa".to_owned();
    assert_eq!(error_fields(&form), [Field::KeyFile]);
    assert!(!form.uses_password());
}

#[test]
fn the_key_file_only_matters_for_ssh() {
    let mut form = remote(Transport::TcpSasl, "h");
    form.ssh_keyfile = "relative".to_owned();
    assert_eq!(form.uri(), Ok("qemu+tcp://h/system".to_owned()));
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let form = ConnectionForm {
        host: "bad host".to_owned(),
        port: "0".to_owned(),
        username: "a b".to_owned(),
        name: "n".repeat(101),
        ..ConnectionForm::default()
    };
    assert_eq!(
        error_fields(&form),
        [Field::Host, Field::Port, Field::Username, Field::Name]
    );
}

#[test]
fn custom_uris_are_taken_as_typed_when_libvirt_could_use_them() {
    let form = custom(" qemu+tcp://h/system?auth=sasl.gssapi ");
    assert_eq!(
        form.uri(),
        Ok("qemu+tcp://h/system?auth=sasl.gssapi".to_owned())
    );
    let errors = custom("bogus://h/system").errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, Field::CustomUri);
    assert!(errors[0].message.contains("bogus"));
    assert_eq!(
        error_fields(&custom("qemu+pigeon://h/x")),
        [Field::CustomUri]
    );
    assert_eq!(error_fields(&custom("")), [Field::CustomUri]);
    assert_eq!(error_fields(&custom("words")), [Field::CustomUri]);
}

#[test]
fn custom_uris_ask_for_a_login_only_when_remote() {
    assert!(!custom("qemu:///system").uses_login());
    assert!(!custom("not a uri").uses_login());
    assert!(custom("qemu+tls://h/system").uses_password());
    let ssh = custom("qemu+ssh://h/system");
    assert!(ssh.uses_login() && !ssh.uses_password());
    let mut bad_user = custom("qemu+tcp://h/system");
    bad_user.username = "a b".to_owned();
    assert_eq!(error_fields(&bad_user), [Field::Username]);
}

#[test]
fn names_default_to_the_short_name_and_have_a_limit() {
    let mut form = remote(Transport::TcpSasl, "nas.local");
    let saved = form.to_saved("x".to_owned()).expect("valid");
    assert_eq!(saved.name, "nas.local");
    form.name = "n".repeat(100);
    assert!(form.errors().is_empty());
    form.name = "n".repeat(101);
    assert_eq!(error_fields(&form), [Field::Name]);
    assert!(form.to_saved("x".to_owned()).is_err());
    form.name = "  Home server  ".to_owned();
    let saved = form.to_saved("x".to_owned()).expect("valid");
    assert_eq!(saved.name, "Home server");
}

#[test]
fn saving_keeps_the_id_and_switches() {
    let form = ConnectionForm {
        host: "h".to_owned(),
        username: "admin".to_owned(),
        autoconnect: false,
        ..ConnectionForm::default()
    };
    let saved = form.to_saved("abc".to_owned()).expect("valid");
    assert_eq!(saved.id, "abc");
    assert_eq!(saved.uri, "qemu+tcp://admin@h/system");
    assert_eq!(saved.username, None, "the URI carries the user");
    assert!(!saved.autoconnect);
    assert!(saved.remember_password);
}

#[test]
fn reads_back_what_the_choices_can_describe() {
    let form = ConnectionForm::from_saved(&saved("qemu+tcp://me%40example.org@[::1]:16509/system"));
    assert_eq!(form.transport, Transport::TcpSasl);
    assert_eq!(form.host, "::1");
    assert_eq!(form.port, "", "the default port is left empty");
    assert_eq!(form.username, "me@example.org");
    assert_eq!(form.name, "", "a default name keeps following the address");

    let form = ConnectionForm::from_saved(&saved(
        "qemu+ssh://root@h:2222/system?no_tty=1&keyfile=/k%20k",
    ));
    assert_eq!(form.transport, Transport::Ssh);
    assert_eq!(form.port, "2222");
    assert_eq!(form.ssh_keyfile, "/k k");

    let form = ConnectionForm::from_saved(&saved("qemu+ssh://h/system"));
    assert_eq!(form.transport, Transport::Ssh);
    assert_eq!(form.uri(), Ok("qemu+ssh://h/system?no_tty=1".to_owned()));

    let form = ConnectionForm::from_saved(&saved("test:///default"));
    assert_eq!(
        (form.hypervisor, form.transport),
        (Hypervisor::Test, Transport::LocalSystem)
    );
    let form = ConnectionForm::from_saved(&saved("qemu:///session"));
    assert_eq!(form.transport, Transport::LocalSession);
}

#[test]
fn anything_else_becomes_a_custom_uri() {
    for uri in [
        "qemu+tcp://h/system?auth=sasl.PLAIN",
        "qemu+tcp://h/session",
        "qemu+ssh://h/system?no_tty=1&sshauth=agent",
        "qemu+libssh://h/system",
        "qemu+unix:///system",
        "lxc:///system",
        "test:///tmp/fixture.xml",
        "qemu+tcp://my_host/system",
        "qemu+tcp://bad%zzuser@h/system",
        "not a uri at all",
    ] {
        let mut saved = saved(uri);
        saved.username = Some("sasl-user".to_owned());
        let form = ConnectionForm::from_saved(&saved);
        assert_eq!(form.transport, Transport::Custom, "{uri}");
        assert_eq!(form.custom_uri, uri);
    }
    let mut saved = saved("qemu+tcp://h/system?auth=sasl.GSSAPI");
    saved.username = Some("sasl-user".to_owned());
    let form = ConnectionForm::from_saved(&saved);
    assert_eq!(form.username, "sasl-user");
    let again = form.to_saved(saved.id.clone()).expect("valid");
    assert_eq!(again, saved);
}

#[test]
fn a_separate_user_name_moves_into_the_uri() {
    let mut saved = saved("qemu+tcp://h/system");
    saved.username = Some("admin".to_owned());
    let form = ConnectionForm::from_saved(&saved);
    assert_eq!(form.username, "admin");
    assert_eq!(form.uri(), Ok("qemu+tcp://admin@h/system".to_owned()));
}

#[test]
fn forms_survive_saving_and_reading_back() {
    let forms = [
        ConnectionForm {
            transport: Transport::LocalSystem,
            ..ConnectionForm::default()
        },
        ConnectionForm {
            transport: Transport::LocalSession,
            name: "Mine".to_owned(),
            autoconnect: false,
            ..ConnectionForm::default()
        },
        ConnectionForm {
            hypervisor: Hypervisor::Test,
            transport: Transport::LocalSystem,
            ..ConnectionForm::default()
        },
        ConnectionForm {
            host: "nas.local".to_owned(),
            username: "me@example.org".to_owned(),
            port: "16510".to_owned(),
            remember_password: false,
            ..ConnectionForm::default()
        },
        ConnectionForm {
            transport: Transport::Tls,
            host: "fe80::1".to_owned(),
            port: "443".to_owned(),
            name: "TLS box".to_owned(),
            ..ConnectionForm::default()
        },
        ConnectionForm {
            transport: Transport::Ssh,
            host: "10.0.0.2".to_owned(),
            username: "root".to_owned(),
            ssh_keyfile: "/home/me/.ssh/key with spaces%".to_owned(),
            ..ConnectionForm::default()
        },
        ConnectionForm {
            hypervisor: Hypervisor::Test,
            transport: Transport::Ssh,
            host: "h".to_owned(),
            port: "2222".to_owned(),
            ..ConnectionForm::default()
        },
        ConnectionForm {
            transport: Transport::Custom,
            custom_uri: "qemu+tcp://h/system?auth=sasl.PLAIN".to_owned(),
            username: "sasl".to_owned(),
            name: "Custom".to_owned(),
            ..ConnectionForm::default()
        },
    ];
    for form in forms {
        let saved = form.to_saved("id".to_owned()).expect("valid");
        assert_eq!(ConnectionForm::from_saved(&saved), form, "{}", saved.uri);
    }
}

#[test]
fn warns_when_tcp_goes_unencrypted() {
    assert_eq!(remote(Transport::TcpSasl, "h").security_warning(), None);
    for uri in [
        "qemu+tcp://h/system",
        "qemu+tcp://h/system?auth=sasl",
        "qemu+tcp://h/system?auth=sasl.DIGEST-MD5",
        "qemu+tcp://h/system?auth=sasl.gssapi",
        "qemu+tls://h/system",
        "qemu+ssh://h/system?auth=none",
        "qemu:///system",
        "broken",
    ] {
        assert_eq!(custom(uri).security_warning(), None, "{uri}");
    }
    let plain = custom("qemu+tcp://h/system?auth=sasl.PLAIN").security_warning();
    assert!(plain.is_some_and(|text| text.contains("PLAIN") && text.contains("password")));
    let scram = custom("qemu+tcp://h/system?auth=sasl.SCRAM-SHA-256").security_warning();
    assert!(scram.is_some_and(|text| text.contains("SCRAM-SHA-256")));
    for uri in [
        "qemu+tcp://h/system?auth=none",
        "qemu+tcp://h/system?auth=polkit",
        "qemu+tls://h/system?no_verify=1",
        "qemu+ssh://h/system?no_verify=1",
    ] {
        assert!(custom(uri).security_warning().is_some(), "{uri}");
    }
}

#[test]
fn percent_escapes_round_trip() {
    let text = "a b@c/é%";
    let encoded = percent_encode(text, is_unreserved);
    assert_eq!(encoded, "a%20b%40c%2F%C3%A9%25");
    assert_eq!(percent_decode(&encoded).as_deref(), Some(text));
    assert_eq!(percent_decode("%zz"), None);
    assert_eq!(percent_decode("%4"), None);
    assert_eq!(percent_decode("%+1"), None);
    assert_eq!(percent_decode("%FF"), None, "not UTF-8");
}
