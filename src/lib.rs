//! allot: a self-hosted admin center for the licenses of online products.

pub mod cli;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod mail;
pub mod startup;
pub mod web;
