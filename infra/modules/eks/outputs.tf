output "cluster_name" {
  description = "Name of the cluster."
  value       = try(aws_eks_cluster.this[0].name, null)
}

output "cluster_arn" {
  description = "ARN of the cluster."
  value       = try(aws_eks_cluster.this[0].arn, null)
}

output "cluster_endpoint" {
  description = "Endpoint of the Kubernetes API."
  value       = try(aws_eks_cluster.this[0].endpoint, null)
}

output "cluster_version" {
  description = "Kubernetes version of the control plane."
  value       = try(aws_eks_cluster.this[0].version, null)
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the Kubernetes API."
  value       = try(aws_eks_cluster.this[0].certificate_authority[0].data, null)
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer of the cluster (for IRSA, should a workload need it; this design uses Pod Identity)."
  value       = try(aws_eks_cluster.this[0].identity[0].oidc[0].issuer, null)
}

output "cluster_security_group_id" {
  description = "Security group EKS created for the control plane and nodes."
  value       = try(aws_eks_cluster.this[0].vpc_config[0].cluster_security_group_id, null)
}

output "node_security_group_id" {
  description = "Extra security group on every node; other services admit the cluster by it."
  value       = try(aws_security_group.node[0].id, null)
}

output "node_iam_role_arn" {
  description = "ARN of the node IAM role."
  value       = try(aws_iam_role.node[0].arn, null)
}

output "node_group_names" {
  description = "Names of the managed node groups, one per availability zone."
  value       = [for group in aws_eks_node_group.this : group.node_group_name]
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the Kubernetes secrets."
  value       = module.kms.key_arn
}

output "pod_identity_role_arns" {
  description = "ARNs of the pod identity roles, keyed like `pod_identity_roles`."
  value       = { for k, r in aws_iam_role.pod_identity : k => r.arn }
}

output "pod_identity_association_ids" {
  description = "IDs of the pod identity associations, keyed like `pod_identity_roles` (empty when `create_pod_identity_associations` is `false`)."
  value       = { for k, a in aws_eks_pod_identity_association.this : k => a.association_id }
}

output "cloudwatch_log_group_name" {
  description = "Name of the control-plane log group."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}
