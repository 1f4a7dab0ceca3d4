//! `spin-host build`: runs each component's `[component.<id>.build]` commands
//! the way `spin build` does.

use crate::manifest::App;
use anyhow::{bail, Context, Result};
use std::process::Command;

/// Runs the build command of each component (or of those in `only`).
pub fn build(app: &App, only: &[String]) -> Result<()> {
    let with_build: Vec<_> = app
        .components
        .values()
        .filter(|c| only.is_empty() || only.contains(&c.id))
        .filter_map(|c| c.build.as_ref().map(|b| (c, b)))
        .collect();
    if with_build.is_empty() {
        println!("None of the components have a build command.");
        return Ok(());
    }
    for (component, build) in with_build {
        let dir = match &build.workdir {
            Some(workdir) => {
                let dir = app.dir.join(workdir);
                println!("Working directory: {:?}", dir);
                dir
            }
            None => app.dir.clone(),
        };
        let count = build.commands.len();
        if count > 1 {
            println!("Building component {} ({count} commands)", component.id);
        }
        for (index, command) in build.commands.iter().enumerate() {
            if count == 1 {
                println!("Building component {} with `{command}`", component.id);
            } else {
                println!(
                    "Running build step {}/{count} for component {} with '{command}'",
                    index + 1,
                    component.id
                );
            }
            let status = Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&dir)
                .status()
                .with_context(|| {
                    format!("cannot run build command for component {}", component.id)
                })?;
            if !status.success() {
                bail!(
                    "Build command for component {} failed with status {status}",
                    component.id
                );
            }
        }
    }
    println!("Finished building all Spin components");
    Ok(())
}
