//! `rwsgi pip`: pip on the embedded interpreter installs Flask from PyPI (the package
//! registry) with no Python on the machine, building MarkupSafe's source-only release into a
//! pure wheel, and rwsgi serves an app on what it installed.

use crate::common::{Server, TempDir, bin};
use crate::hidden_python::without_python;

#[test]
fn pip_installs_flask_with_no_python_and_rwsgi_serves_it() {
    let dir = TempDir::new("pip");
    let binary = dir.path().join("rwsgi");
    std::fs::copy(bin(), &binary).expect("copy binary");
    let cache = dir.path().join("cache");
    let vendor = dir.path().join("vendor");
    let (cache_s, home_s) = (cache.to_string_lossy(), dir.path().to_string_lossy());
    let env = [
        ("RWSGI_CACHE_DIR", cache_s.as_ref()),
        ("HOME", home_s.as_ref()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        // Nothing from an earlier run: every wheel is fetched or built now.
        ("PIP_NO_CACHE_DIR", "1"),
    ];
    let out = without_python(&binary, dir.path(), &env)
        .args(["pip", "install", "--target"])
        .arg(&vendor)
        .arg("flask")
        .output()
        .expect("run rwsgi pip");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "rwsgi pip install failed:\n{log}");
    assert!(log.contains("Successfully installed"), "{log}");
    for package in ["flask", "werkzeug", "jinja2", "markupsafe", "click"] {
        assert!(vendor.join(package).is_dir(), "{package} missing:\n{log}");
    }
    // MarkupSafe has no pure wheel on PyPI: pip built one here, speedups left out.
    assert!(log.contains("Building wheel for markupsafe"), "{log}");

    let app = dir.path().join("site.py");
    std::fs::write(
        &app,
        "from flask import Flask, render_template_string\n\
         app = Flask(__name__)\n\
         @app.get('/<name>')\n\
         def hello(name):\n    \
             return render_template_string('<p>Hello, {{ name }}</p>', name=name)\n",
    )
    .expect("write app");
    let server = Server::start(&[
        &format!("{}:app", app.display()),
        "--pythonpath",
        &vendor.to_string_lossy(),
    ]);
    let resp = server.get("/%3Cpip%3E");
    assert_eq!(resp.status, 200, "{}", server.log_text());
    assert_eq!(resp.text(), "<p>Hello, &lt;pip&gt;</p>");
}

#[test]
fn pip_install_without_a_target_is_refused_in_one_line() {
    let dir = TempDir::new("pip-no-target");
    let out = std::process::Command::new(bin())
        .args(["pip", "install", "flask"])
        .env("RWSGI_CACHE_DIR", dir.path().join("cache"))
        .output()
        .expect("run rwsgi pip");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("needs --target DIR"), "{stderr}");
    // Refused before anything was downloaded.
    assert!(!dir.path().join("cache").exists());
}
