//! Rebuild when the frozen Python sources in pylib/ change (py_freeze! reads them at compile
//! time, which cargo does not track by itself), and find libexpat's static archive (Debian's
//! libexpat1-dev), which `python::expat` links.
fn main() {
    println!("cargo:rerun-if-changed=pylib");
    let target = std::env::var("TARGET").unwrap_or_default();
    if let Some(arch) = target.split('-').next() {
        println!("cargo:rustc-link-search=native=/usr/lib/{arch}-linux-gnu");
    }
}
