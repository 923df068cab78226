mod augment;
mod data;
mod metrics_errors;
mod metrics_reference;
mod metrics_streaming;
mod padim;
mod report;
mod resnet;
